#!/usr/bin/env node
// Checks that every metric the Grafana dashboard and the Prometheus alert
// rules query is a series the services really export: the metric names in
// their PromQL expressions against the sample names of /metrics scrapes.
//
// Usage: check-metric-names.mjs DASHBOARD.json ALERTS.yml -- SCRAPE.txt...
// Exit status: 0; 1 when a name is missing (each is listed); 2 for bad usage.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The yaml package the manager depends on (the root declares none).
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { parse } = createRequire(join(root, "apps/manager/package.json"))("yaml");

/** Series Prometheus adds at scrape time rather than reads from /metrics. */
const synthesized = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);
const keywords = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** The metric names a PromQL expression reads. */
function metricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = stripped[m.index - 1] ?? "";
    if (before === "$" || /[0-9.]/.test(before)) continue; // a variable, or a number's exponent
    if (
      stripped
        .slice(m.index + m[0].length)
        .trimStart()
        .startsWith("(")
    )
      continue; // a function
    if (keywords.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return names;
}

function dashboardExprs(dashboard) {
  const out = [];
  const visit = (panels) => {
    for (const panel of panels ?? []) {
      for (const t of panel.targets ?? []) if (t.expr) out.push([`panel "${panel.title}"`, t.expr]);
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    const inner = /^label_values\((.*),\s*\w+\)$/.exec(q ?? "")?.[1];
    if (v.type === "query" && inner) out.push([`variable $${v.name}`, inner]);
  }
  return out;
}

function alertExprs(rules) {
  return rules.groups.flatMap((g) =>
    g.rules.map((r) => [`rule ${r.alert ?? r.record}`, String(r.expr)]),
  );
}

const args = process.argv.slice(2);
const sep = args.indexOf("--");
if (args.length < 4 || sep !== 2) {
  process.stderr.write(
    "usage: check-metric-names.mjs DASHBOARD.json ALERTS.yml -- SCRAPE.txt...\n",
  );
  process.exit(2);
}
const [dashboardFile, alertsFile] = args;
const exported = new Set();
for (const file of args.slice(3))
  for (const line of readFileSync(file, "utf8").split("\n"))
    if (line && !line.startsWith("#")) exported.add(line.split(/[{ ]/)[0]);

const exprs = [
  ...dashboardExprs(JSON.parse(readFileSync(dashboardFile, "utf8"))),
  ...alertExprs(parse(readFileSync(alertsFile, "utf8"))),
];
const referenced = new Map();
for (const [where, expr] of exprs)
  for (const name of metricNames(expr))
    referenced.set(name, [...(referenced.get(name) ?? []), where]);

const missing = [...referenced].filter(([name]) => !exported.has(name) && !synthesized.has(name));
if (exprs.length === 0 || referenced.size === 0) {
  process.stderr.write("no PromQL expressions found: the files are not what this check expects\n");
  process.exit(1);
}
if (missing.length > 0) {
  for (const [name, where] of missing)
    process.stderr.write(`not exported by any scraped service: ${name} (${where.join(", ")})\n`);
  process.exit(1);
}
process.stdout.write(
  `${referenced.size} metric names in ${exprs.length} expressions, all exported: ${[...referenced.keys()].sort().join(", ")}\n`,
);
