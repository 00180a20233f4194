#!/usr/bin/env node
// Renders sample manifests (deploy/samples/*.yaml) for the local stack: each
// ${NAME} placeholder, which stands for a whole YAML value, becomes the value
// of the environment variable NAME as a quoted YAML string, so a path or URL
// with YAML metacharacters stays one string.
//
// Usage: render-manifests.mjs OUT_DIR FILE...
// Exit status: 0, or 1 when a placeholder has no variable (nothing is written).
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  process.stderr.write("usage: render-manifests.mjs OUT_DIR FILE...\n");
  process.exit(2);
}

const rendered = [];
const missing = new Set();
for (const file of files) {
  const text = readFileSync(file, "utf8").replace(/\$\{([A-Z0-9_]+)\}/g, (_, name) => {
    const value = process.env[name];
    if (!value) {
      missing.add(`${name} (in ${file})`);
      return "";
    }
    return JSON.stringify(value);
  });
  rendered.push([join(outDir, basename(file)), text]);
}
if (missing.size > 0) {
  process.stderr.write(`render-manifests: not set: ${[...missing].join(", ")}\n`);
  process.exit(1);
}
for (const [path, text] of rendered) writeFileSync(path, text);
