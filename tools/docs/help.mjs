#!/usr/bin/env node
// Keeps the CLI and configuration references true to the code: runs each
// built binary's --help and rewrites the fenced block between markers in the
// docs with what it printed.
//
//   <!-- help: virtrigaud-manager -->                      the whole help
//   <!-- help: virtrigaud-manager section="Manager flags" -->  from the line
//        starting with that text to the next blank line
//
//   ```text
//   ...rewritten...
//   ```
//
//   <!-- /help -->
//
// Usage: node tools/docs/help.mjs [--check]
//   --check  change nothing; exit 1 and name the blocks that differ.
// Needs the build (npm run build). Exit status: 0, 1 (stale blocks with
// --check, or a binary that fails), 2 (bad usage or markers).
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { helpOf, root } from "../lib/binaries.mjs";

const args = process.argv.slice(2);
const check = args.includes("--check");
if (args.some((a) => a !== "--check")) {
  process.stderr.write("usage: node tools/docs/help.mjs [--check]\n");
  process.exit(2);
}

function section(text, heading, where) {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start < 0) throw new Error(`${where}: no section starting with ${JSON.stringify(heading)}`);
  let end = lines.findIndex((l, i) => i > start && l.trim() === "");
  if (end < 0) end = lines.length;
  return lines.slice(start, end).join("\n");
}

function markdownFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...markdownFiles(path));
    else if (entry.name.endsWith(".md")) out.push(path);
  }
  return out;
}

const marker =
  /<!-- help: ([a-z-]+)(?: section="([^"]+)")? -->\n+(?:```text\n[\s\S]*?\n```\n+)?<!-- \/help -->/g;
const stale = [];
let blocks = 0;
for (const file of [join(root, "README.md"), ...markdownFiles(join(root, "docs"))]) {
  const text = readFileSync(file, "utf8");
  const where = relative(root, file);
  const opened = (text.match(/<!-- help: /g) ?? []).length;
  let found = 0;
  const next = text.replace(marker, (_, name, heading) => {
    found++;
    const full = helpOf(name);
    const body = heading ? section(full, heading, `${where} (${name})`) : full;
    // Blank lines around the block, as Prettier writes them.
    return `<!-- help: ${name}${heading ? ` section="${heading}"` : ""} -->\n\n\`\`\`text\n${body}\n\`\`\`\n\n<!-- /help -->`;
  });
  if (found !== opened) {
    process.stderr.write(
      `${where}: a help marker is not followed by a text block and <!-- /help -->\n`,
    );
    process.exit(2);
  }
  blocks += found;
  if (next === text) continue;
  stale.push(where);
  if (!check) writeFileSync(file, next);
}

if (check && stale.length > 0) {
  process.stderr.write(
    `help blocks out of date in: ${stale.join(", ")}\nrun: node tools/docs/help.mjs (after npm run build)\n`,
  );
  process.exit(1);
}
process.stdout.write(
  `${blocks} help blocks ${check ? "current" : stale.length ? `rewritten in ${stale.join(", ")}` : "already current"}\n`,
);
