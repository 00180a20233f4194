#!/usr/bin/env node
// Reads a test run's log and prints what failed and what passed only when
// retried, each with the first lines of its error, so that the end of CI's
// output (often all one sees of it) names them.
// Usage: summary.mjs LOG [--lines N] [--max M]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

// eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
const ansi = /\x1b\[[0-9;?]*[A-Za-z]/g;
// nx's stream output puts the project before every line of a task: "@scope/name: ".
const projectPrefix = /^(@[\w.-]+\/[\w.-]+):\s?/;
// A block of error lines ends at the next file's result or at jest's own summary.
const blockEnd = /^(PASS|FAIL) |^(Test Suites|Tests|Summary of all failing tests):?|^RETRY \d+$/;

/** @typedef {{ project: string, title: string, lines: string[] }} Reported */

/**
 * What jest reported in a log, one entry per project and test title in the
 * order first seen, each with the first lines of its error: `failed` from
 * its "● title" blocks (jest repeats them in its summary, with titles cut to
 * the terminal's width), `retried` from its "LOGGING RETRY ERRORS" blocks
 * (the error of the attempt that was retried).
 * @param {string} log
 * @param {number} maxLines lines kept of each error
 * @returns {{ failed: Reported[], retried: Reported[] }}
 */
export function reportedIn(log, maxLines = 12) {
  const failed = new Map();
  const retried = new Map();
  let open = null;
  for (const raw of log.split(/\r?\n/)) {
    const stripped = raw.replace(ansi, "");
    const prefix = projectPrefix.exec(stripped);
    const project = prefix?.[1] ?? "";
    const line = prefix ? stripped.slice(prefix[0].length) : stripped;
    const failure = /^\s*● (.+)$/.exec(line)?.[1]?.trim();
    const retry = /^\s*LOGGING RETRY ERRORS\s+(.+)$/.exec(line)?.[1]?.trim();
    if (failure !== undefined || retry !== undefined) {
      open = null;
      const title = failure ?? retry ?? "";
      if (failure !== undefined && title.startsWith("Console")) continue;
      const entries = failure !== undefined ? failed : retried;
      const key = `${project}\0${title}`;
      if (![...entries.keys()].some((k) => k.startsWith(key) || key.startsWith(k))) {
        open = { project, title, lines: [] };
        entries.set(key, open);
      }
      continue;
    }
    if (open === null) continue;
    if (blockEnd.test(line.trim())) {
      // A retry's error follows its "RETRY n" line: only the end of the block closes it.
      if (!/^RETRY \d+$/.test(line.trim())) open = null;
      continue;
    }
    if (open.lines.length < maxLines && (line.trim() !== "" || open.lines.length > 0)) {
      open.lines.push(line);
    }
  }
  const done = (entries) => [...entries.values()].map((e) => ({ ...e, lines: trimEnd(e.lines) }));
  // jest names a retried test by its full name, words joined by spaces; a failure by "a › b".
  const failedNames = new Set(
    done(failed).map((f) => `${f.project}\0${f.title.replaceAll(" › ", " ")}`),
  );
  return {
    failed: done(failed),
    retried: done(retried).filter((r) => !failedNames.has(`${r.project}\0${r.title}`)),
  };
}

function trimEnd(lines) {
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1].trim() === "") out.pop();
  return out;
}

function section(heading, entries, max) {
  const out = [heading];
  entries.forEach((e, i) => {
    out.push(`\n${e.project ? `${e.project}: ` : ""}● ${e.title}`);
    if (i < max) out.push(...e.lines.map((l) => `    ${l.trimEnd()}`));
  });
  return out.join("\n");
}

/**
 * The report printed at the end of a run.
 * @param {ReturnType<typeof reportedIn>} reported
 * @param {{ failedRun: boolean, max?: number }} options `max`: entries of each kind printed with their error
 */
export function report({ failed, retried }, { failedRun, max = 6 }) {
  const parts = [];
  if (failed.length > 0) parts.push(section(`${failed.length} failing test(s):`, failed, max));
  else if (failedRun) parts.push("No failing test was found in the log: see the output above.");
  if (retried.length > 0) {
    parts.push(
      section(
        `${retried.length} test(s) failed once and passed when retried (flaky):`,
        retried,
        max,
      ),
    );
  }
  return parts.length > 0 ? `${parts.join("\n\n")}\n` : "";
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      lines: { type: "string", default: "12" },
      max: { type: "string", default: "6" },
      "failed-run": { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) {
    process.stderr.write("usage: summary.mjs LOG [--failed-run] [--lines N] [--max M]\n");
    process.exit(2);
  }
  const log = readFileSync(positionals[0], "utf8");
  const reported = reportedIn(log, Number(values.lines));
  process.stdout.write(
    report(reported, { failedRun: values["failed-run"], max: Number(values.max) }),
  );
}
