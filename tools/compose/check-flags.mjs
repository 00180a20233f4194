#!/usr/bin/env node
// Checks docker-compose.yml against the binaries it runs (tools/compose/check.sh
// calls it).
//
// Reads the rendered file (`docker-compose config`, every profile) on stdin, and
// for every service that runs one of the project's binaries (tools/lib/binaries.mjs):
//   - finds the binary the image runs (the ENTRYPOINT of the Dockerfile's
//     build target, or the service's own entrypoint) and runs its --help (the apps must be built:
//     npx tsc -b apps/<app>/tsconfig.lib.json);
//   - every --flag the service passes must be in that help;
//   - the Node flags of the image's entrypoint (before the script) must be the
//     app's `virtrigaud.nodeFlags` (its package.json), which tools/run.sh and
//     the benchmarks also run it with;
//   - every VIRTRIGAUD_* / VSPHERE_* variable the service or its Dockerfile sets
//     must be one the help names as a flag's environment fallback ([NAME]), or
//     follow the binary's stated VIRTRIGAUD_<FLAG> rule for a flag it has;
//   - every /run/secrets/... value in the environment must be a mounted secret
//     (or a directory of them), and the health check must probe
//     http://127.0.0.1:PORT/readyz on the ops port (VIRTRIGAUD_OPS_LISTEN).
// Prints one line per service checked on stderr; exits 1 listing every mismatch.
//
// Usage: docker-compose -f docker-compose.yml --profile ... config |
//          node tools/compose/check-flags.mjs
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { binaryAt, helpOf, nodeFlagsOf, root } from "../lib/binaries.mjs";

const envPrefixes = ["VIRTRIGAUD_", "VSPHERE_"];
const secretsDir = "/run/secrets/";

function say(line) {
  process.stderr.write(`[check-flags] ${line}\n`);
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Splits a command line the way a POSIX shell (and Python's shlex) would:
 * whitespace separates words, quotes group them, backslash escapes.
 */
function shellSplit(line) {
  const words = [];
  let word = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) i++;
        word += line[i];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
    } else if (c === "\\" && i + 1 < line.length) {
      word = (word ?? "") + line[++i];
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** An argv from exec form (a list) or shell form (a string); [] when absent. */
function argvOf(value) {
  if (value == null) return [];
  if (typeof value === "string") return shellSplit(value);
  return value.map(String);
}

/**
 * ENV names/values and the ENTRYPOINT of a Dockerfile's stage `target` (the
 * last stage when there is none), with what it inherits from the stages it is
 * built FROM.
 *
 * @throws Error when the file has no stage `target`
 */
function dockerfileFacts(path, target) {
  const stages = new Map();
  let current = { env: {}, entrypoint: null };
  const text = readFileSync(join(root, path), "utf8").replace(/\\\n/g, " ");
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      const parent = stages.get(from[1].toLowerCase());
      current = { env: { ...parent?.env }, entrypoint: parent?.entrypoint ?? null };
      if (from[2]) stages.set(from[2].toLowerCase(), current);
    } else if (line.startsWith("ENV ")) {
      for (const pair of shellSplit(line.slice(4))) {
        const eq = pair.indexOf("=");
        if (eq > 0) current.env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
    } else if (line.startsWith("ENTRYPOINT ")) {
      const value = line.slice("ENTRYPOINT ".length).trim();
      current.entrypoint = value.startsWith("[") ? JSON.parse(value) : value;
    }
  }
  if (target == null) return current;
  const stage = stages.get(String(target).toLowerCase());
  if (!stage) throw new Error(`${path} has no stage ${target} (the service's build target)`);
  return stage;
}

/** The bin script (e.g. apps/manager/bin/vrtg.js) an argv runs and the arguments after it. */
function scriptOf(argv) {
  for (const [i, arg] of argv.entries()) {
    const m = /^\/app\/((?:apps|packages)\/[^/]+\/bin\/[^/]+\.js)$/.exec(arg);
    if (m) return { script: m[1], args: argv.slice(i + 1) };
  }
  return { script: null, args: [] };
}

function hasFlag(help, flag) {
  return new RegExp(`(^|[\\s,])${escapeRegExp(flag)}([\\s,=]|$)`, "m").test(help);
}

function envKnown(help, name) {
  if (new RegExp(`\\[${escapeRegExp(name)}[\\]=]`).test(help)) return true;
  // "environment fallback: VIRTRIGAUD_<FLAG>": VIRTRIGAUD_SSH_HOST is --ssh-host.
  if (help.includes("VIRTRIGAUD_<FLAG>") && name.startsWith("VIRTRIGAUD_")) {
    const flag = `--${name.slice("VIRTRIGAUD_".length).toLowerCase().replaceAll("_", "-")}`;
    return new RegExp(`(^|\\s)${escapeRegExp(flag)}(\\s|$)`, "m").test(help);
  }
  return false;
}

/** The service's environment as a name → string map (mapping or NAME=VALUE list). */
function environmentOf(svc) {
  const env = svc.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((item) => {
        const eq = String(item).indexOf("=");
        return eq < 0 ? [String(item), ""] : [item.slice(0, eq), item.slice(eq + 1)];
      })
    : Object.entries(env);
  return Object.fromEntries(entries.map(([k, v]) => [k, v == null ? "" : String(v)]));
}

/** Where each of the service's secrets is mounted. */
function secretTargets(svc) {
  return (svc.secrets ?? []).map((s) => {
    const target = typeof s === "string" ? s : (s.target ?? s.source);
    return target.startsWith("/") ? target : secretsDir + target;
  });
}

/** The problems with one service, or null when it runs none of the project's binaries. */
function checkService(name, svc, services) {
  let build = svc.build;
  if (!build?.dockerfile) {
    // A service running another service's image (vrtg runs the manager's).
    const image = (svc.image ?? "").split(":")[0];
    build = Object.values(services).find(
      (other) => other.build && (other.image ?? "").split(":")[0] === image,
    )?.build;
  }
  const image = build?.dockerfile
    ? dockerfileFacts(build.dockerfile, build.target)
    : { env: {}, entrypoint: null };
  const entrypoint = argvOf("entrypoint" in svc ? svc.entrypoint : image.entrypoint);
  const { script, args } = scriptOf(entrypoint);
  if (!script) return null; // not one of the apps (vcsim)

  const problems = [];
  const bin = binaryAt(script);
  if (!bin) {
    return {
      summary: script,
      problems: [`runs ${script}, which is not a binary tools/lib/binaries.mjs lists`],
    };
  }
  if (!("entrypoint" in svc)) {
    const nodeArgs = entrypoint.slice(1, entrypoint.indexOf(`/app/${script}`));
    const appDir = script.split("/").slice(0, 2).join("/");
    const expected = nodeFlagsOf(appDir);
    if (JSON.stringify(nodeArgs) !== JSON.stringify(expected)) {
      problems.push(
        `the image runs node ${JSON.stringify(nodeArgs)} before ${script}; ${appDir}/package.json's virtrigaud.nodeFlags says ${JSON.stringify(expected)}`,
      );
    }
  }
  const help = helpOf(bin);
  if (!help.includes("Usage")) problems.push(`${bin} --help printed no "Usage" line: ${help}`);

  const command = argvOf(svc.command);
  for (const arg of [...args, ...command]) {
    const flag = arg.split("=", 1)[0];
    if (flag.startsWith("--") && !hasFlag(help, flag)) {
      problems.push(`${bin} has no flag ${flag} (passed as ${JSON.stringify(arg)})`);
    }
  }

  // The image's ENV is for the image's own entrypoint (vrtg runs in the manager's image).
  const env = { ...("entrypoint" in svc ? {} : image.env), ...environmentOf(svc) };
  const names = Object.keys(env).sort();
  for (const v of names) {
    if (envPrefixes.some((p) => v.startsWith(p)) && !envKnown(help, v)) {
      problems.push(`${bin} reads no ${v} (not in its --help)`);
    }
  }

  const targets = secretTargets(svc);
  for (const v of names) {
    const value = env[v];
    if (!value.startsWith(secretsDir)) continue;
    const dir = `${value.replace(/\/+$/, "")}/`;
    if (!targets.some((t) => t === value || t.startsWith(dir))) {
      problems.push(
        `${v}=${value} is not a mounted secret (mounted: ${targets.join(", ") || "none"})`,
      );
    }
  }

  const health = svc.healthcheck;
  if (health && !health.disable) {
    const test = Array.isArray(health.test) ? health.test.map(String).join(" ") : `${health.test}`;
    const probe = /127\.0\.0\.1:(\d+)\/readyz/.exec(test);
    const ops = env.VIRTRIGAUD_OPS_LISTEN ?? "";
    if (!probe) {
      problems.push(`the health check probes no http://127.0.0.1:PORT/readyz: ${test}`);
    } else if (!ops) {
      problems.push(`the health check probes port ${probe[1]}, but VIRTRIGAUD_OPS_LISTEN is unset`);
    } else if (!ops.endsWith(`:${probe[1]}`)) {
      problems.push(
        `the health check probes port ${probe[1]} (${probe[0]}), but the ops port is VIRTRIGAUD_OPS_LISTEN=${ops}`,
      );
    }
  }
  return {
    summary: `${script} (${names.length} settings, ${args.length + command.length} arguments)`,
    problems,
  };
}

function main() {
  const rendered = readFileSync(0, "utf8");
  const config = parseYaml(rendered);
  const services = config?.services;
  if (!services || typeof services !== "object") {
    say("stdin has no services: pipe `docker-compose ... config` into this script");
    return 1;
  }
  const problems = [];
  let checked = 0;
  for (const name of Object.keys(services).sort()) {
    let result;
    try {
      result = checkService(name, services[name], services);
    } catch (error) {
      result = { summary: "", problems: [error instanceof Error ? error.message : String(error)] };
    }
    if (!result) continue;
    checked++;
    if (result.problems.length === 0) {
      say(`${name}: ${result.summary} ok`);
    } else {
      say(`${name}: MISMATCH (${result.problems.length})`);
      problems.push(...result.problems.map((p) => `${name}: ${p}`));
    }
  }
  if (checked === 0) {
    problems.push("no service runs one of the apps: the rendered file was not understood");
  }
  for (const p of problems) say(p);
  return problems.length > 0 ? 1 : 0;
}

process.exitCode = main();
