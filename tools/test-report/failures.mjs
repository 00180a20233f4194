#!/usr/bin/env node
// Prints the failing tests of a test run's log, each with the first lines of
// its error, so that the end of CI's output (often all one sees of it) names
// what failed. Usage: failures.mjs LOG [--lines N] [--max M]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ansi = /\x1b\[[0-9;?]*[A-Za-z]/g;
// nx's stream output puts the project before every line of a task: "@scope/name: ".
const projectPrefix = /^(@[\w.-]+\/[\w.-]+):\s?/;

/**
 * The failures jest reported in a log: one per project and test title, in the
 * order first seen, each with the lines of its error block (the first report
 * of it; jest repeats them in its summary).
 * @param {string} log
 * @param {number} maxLines lines kept of each error block
 * @returns {{ project: string, title: string, lines: string[] }[]}
 */
export function failuresIn(log, maxLines = 12) {
  const failures = new Map();
  let open = null;
  for (const raw of log.split(/\r?\n/)) {
    const stripped = raw.replace(ansi, "");
    const prefix = projectPrefix.exec(stripped);
    const project = prefix?.[1] ?? "";
    const line = prefix ? stripped.slice(prefix[0].length) : stripped;
    const title = /^\s*● (.+)$/.exec(line)?.[1]?.trim();
    if (title !== undefined) {
      open = null;
      if (title.startsWith("Console")) continue;
      const key = `${project}\0${title}`;
      // jest's closing summary cuts long titles to the terminal's width.
      const seen = [...failures.keys()].some((k) => k.startsWith(key) || key.startsWith(k));
      if (!seen) {
        open = { project, title, lines: [] };
        failures.set(key, open);
      }
      continue;
    }
    if (open === null) continue;
    // A block ends at the next file's result line or at jest's own summary.
    if (/^\s*(PASS|FAIL) |^(Test Suites|Tests|Summary of all failing tests):?/.test(line.trim())) {
      open = null;
      continue;
    }
    if (open.lines.length < maxLines && (line.trim() !== "" || open.lines.length > 0)) {
      open.lines.push(line);
    }
  }
  return [...failures.values()].map((f) => ({ ...f, lines: trimEnd(f.lines) }));
}

function trimEnd(lines) {
  const out = [...lines];
  while (out.length > 0 && out[out.length - 1].trim() === "") out.pop();
  return out;
}

/**
 * @param {ReturnType<typeof failuresIn>} failures
 * @param {number} max failures printed in full; the rest by title only
 */
export function report(failures, max = 6) {
  if (failures.length === 0) return "No failing test was found in the log: see the output above.\n";
  const out = [`${failures.length} failing test(s):`];
  failures.forEach((f, i) => {
    out.push(`\n${f.project ? `${f.project}: ` : ""}● ${f.title}`);
    if (i < max) out.push(...f.lines.map((l) => `    ${l.trimEnd()}`));
  });
  return `${out.join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { lines: { type: "string", default: "12" }, max: { type: "string", default: "6" } },
  });
  if (positionals.length !== 1) {
    process.stderr.write("usage: failures.mjs LOG [--lines N] [--max M]\n");
    process.exit(2);
  }
  const log = readFileSync(positionals[0], "utf8");
  process.stdout.write(report(failuresIn(log, Number(values.lines)), Number(values.max)));
}
