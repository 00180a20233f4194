import type { ConformanceReport } from "../suite/types.js";

/** Escapes text for XML, dropping characters XML 1.0 cannot hold at all. */
function xmlEscape(text: string): string {
  // XML 1.0 allows only these characters: control characters are what it replaces.
  // eslint-disable-next-line no-control-regex
  const notXml = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
  return text
    .replace(notXml, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/**
 * The report as JUnit XML: a testsuite per profile (with whether its
 * feature is declared), a testcase per case, and a "sweep" suite whose one
 * case fails when the run left VMs behind.
 */
export function toJunitXml(report: ConformanceReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = report.summary.failed + (report.leftovers.length ? 1 : 0);
  out.push(
    `<testsuites name="vcts" tests="${report.summary.total + 1}" failures="${failures}" time="${seconds(report.durationMs)}">`,
  );
  for (const profile of report.profiles.filter((p) => p.selected)) {
    const cases = report.cases.filter((c) => c.profile === profile.name);
    const time = cases.reduce((sum, c) => sum + c.durationMs, 0);
    out.push(
      `  <testsuite name="${xmlEscape(profile.name)}" tests="${cases.length}" failures="${cases.filter((c) => c.status === "failed").length}" time="${seconds(time)}">`,
      "    <properties>",
      `      <property name="declared" value="${profile.declared}"/>`,
      `      <property name="provider" value="${xmlEscape(`${report.provider.type} ${report.provider.version}`)}"/>`,
      "    </properties>",
    );
    for (const c of cases) {
      out.push(
        `    <testcase classname="vcts.${xmlEscape(c.profile)}" name="${xmlEscape(`${c.id} (${c.mode})`)}" time="${seconds(c.durationMs)}">`,
      );
      if (c.status === "failed") {
        out.push(
          `      <failure message="${xmlEscape(c.error ?? "failed")}">${xmlEscape([c.error ?? "", ...c.log].join("\n"))}</failure>`,
        );
      }
      if (c.log.length) out.push(`      <system-out>${xmlEscape(c.log.join("\n"))}</system-out>`);
      out.push("    </testcase>");
    }
    out.push("  </testsuite>");
  }
  out.push(
    `  <testsuite name="sweep" tests="1" failures="${report.leftovers.length ? 1 : 0}" time="0.000">`,
  );
  out.push(`    <testcase classname="vcts.sweep" name="nothing left behind" time="0.000">`);
  if (report.leftovers.length) {
    out.push(
      `      <failure message="${xmlEscape(`the run left ${report.leftovers.length} VM(s) behind`)}">${xmlEscape(report.leftovers.join("\n"))}</failure>`,
    );
  }
  out.push("    </testcase>", "  </testsuite>", "</testsuites>", "");
  return out.join("\n");
}
