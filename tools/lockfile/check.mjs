#!/usr/bin/env node
// Checks that package-lock.json is complete: every optional dependency a
// locked package declares has its own entry, whatever platform it is for.
//
// Why: npm records every platform's optional packages (@bufbuild/buf-darwin-*,
// @swc/core-win32-*, ...) when the registry lists them. A lockfile written on a
// day or a mirror that hid them lacks those entries; `npm install` elsewhere
// then rewrites it and `npm ci` refuses it. This check fails on such a
// lockfile and names the fix.
//
// Usage: node tools/lockfile/check.mjs [LOCKFILE]   (default: package-lock.json)
// Exit status: 0 complete, 1 incomplete or unreadable.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/**
 * The optional dependencies a lockfile declares but does not lock.
 * @param {{ lockfileVersion?: number, packages?: Record<string, any> }} lock
 * @returns {{ name: string, wantedBy: string }[]}
 */
export function missingOptionalPackages(lock) {
  const packages = lock.packages ?? {};
  const missing = [];
  for (const [path, entry] of Object.entries(packages)) {
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      if (!resolves(packages, path, name))
        missing.push({ name, wantedBy: packageLabel(path, entry) });
    }
  }
  return missing;
}

// Node's lookup: PATH/node_modules/NAME, then each enclosing package's, then the root's.
function resolves(packages, path, name) {
  let dir = path;
  for (;;) {
    if (`${dir ? `${dir}/` : ""}node_modules/${name}` in packages) return true;
    if (!dir) return false;
    const up = dir.lastIndexOf("node_modules/");
    dir = up < 0 ? "" : dir.slice(0, Math.max(0, up - 1));
  }
}

function packageLabel(path, entry) {
  const at = path.lastIndexOf("node_modules/");
  const name =
    at >= 0 ? path.slice(at + "node_modules/".length) : (entry.name ?? (path || "(root)"));
  return entry.version ? `${name}@${entry.version}` : name;
}

/**
 * The problems with a lockfile's text, as sentences a developer can act on; empty when complete.
 * @param {string} text
 * @param {string} file
 */
export function lockfileProblems(text, file = "package-lock.json") {
  let lock;
  try {
    lock = JSON.parse(text);
  } catch (err) {
    return [`${file} is not JSON (${err.message}): restore it from git, then run \`npm install\`.`];
  }
  if (lock.lockfileVersion !== 3 || typeof lock.packages !== "object") {
    return [
      `${file} has lockfileVersion ${lock.lockfileVersion}; this project uses version 3, written by npm 11: run \`npm install\` with npm 11 and commit ${file}.`,
    ];
  }
  const missing = missingOptionalPackages(lock);
  if (missing.length === 0) return [];
  const shown = missing
    .slice(0, 8)
    .map(({ name, wantedBy }) => `  ${name} (optional dependency of ${wantedBy})`);
  if (missing.length > shown.length) shown.push(`  ... and ${missing.length - shown.length} more`);
  return [
    `${file} lacks ${missing.length} optional package(s) of other platforms:\n${shown.join("\n")}\n` +
      `It was written where the registry did not list them, so \`npm install\` on a fresh machine rewrites it ` +
      `and \`npm ci\` refuses it.\n` +
      `Fix: run \`npm install\` (npm 11, against a registry that serves every platform's packages, ` +
      `as registry.npmjs.org does) and commit ${file}.`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const file = process.argv[2] ?? "package-lock.json";
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    console.error(`lockfile: cannot read ${file}: ${err.message}`);
    process.exit(1);
  }
  const problems = lockfileProblems(text, file);
  for (const problem of problems) console.error(`lockfile: ${problem}`);
  process.exit(problems.length ? 1 : 0);
}
