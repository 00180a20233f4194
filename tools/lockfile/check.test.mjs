import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { lockfileProblems, missingOptionalPackages } from "./check.mjs";

const script = fileURLToPath(new URL("./check.mjs", import.meta.url));
const repo = fileURLToPath(new URL("../../", import.meta.url));

// A lockfile as npm 11 writes it where the registry lists every platform's packages.
const complete = {
  name: "x",
  lockfileVersion: 3,
  packages: {
    "": { name: "x", workspaces: ["apps/a"] },
    "apps/a": { name: "a", optionalDependencies: { "fsevents-like": "1.0.0" } },
    "apps/a/node_modules/fsevents-like": { version: "1.0.0", optional: true, os: ["darwin"] },
    "node_modules/tool": {
      version: "2.0.0",
      optionalDependencies: { "tool-darwin-arm64": "2.0.0", "tool-linux-x64": "2.0.0" },
    },
    "node_modules/tool-darwin-arm64": { version: "2.0.0", optional: true, os: ["darwin"] },
    "node_modules/tool-linux-x64": { version: "2.0.0", optional: true, os: ["linux"] },
    "node_modules/dep": { version: "1.0.0" },
    "node_modules/dep/node_modules/inner": {
      version: "3.0.0",
      optionalDependencies: { "tool-linux-x64": "2.0.0", "inner-win32": "3.0.0" },
    },
    "node_modules/dep/node_modules/inner-win32": {
      version: "3.0.0",
      optional: true,
      os: ["win32"],
    },
  },
};

test("a lockfile that locks every optional package passes", () => {
  assert.deepEqual(missingOptionalPackages(complete), []);
  assert.deepEqual(lockfileProblems(JSON.stringify(complete)), []);
});

test("optional packages resolve the way Node looks them up, from nested folders up to the root", () => {
  const packages = { ...complete.packages };
  delete packages["node_modules/dep/node_modules/inner-win32"];
  delete packages["apps/a/node_modules/fsevents-like"];
  assert.deepEqual(missingOptionalPackages({ lockfileVersion: 3, packages }), [
    { name: "fsevents-like", wantedBy: "a" },
    { name: "inner-win32", wantedBy: "inner@3.0.0" },
  ]);
});

test("a lockfile written where the registry hid other platforms' packages fails, naming them and the fix", () => {
  const packages = { ...complete.packages };
  delete packages["node_modules/tool-darwin-arm64"];
  const [problem, ...rest] = lockfileProblems(JSON.stringify({ lockfileVersion: 3, packages }));
  assert.equal(rest.length, 0);
  assert.match(problem, /lacks 1 optional package/);
  assert.match(problem, /tool-darwin-arm64 \(optional dependency of tool@2\.0\.0\)/);
  assert.match(problem, /Fix: run `npm install`.*commit package-lock\.json/s);
});

test("an old lockfile format or a broken file is refused with what to run", () => {
  assert.match(
    lockfileProblems(JSON.stringify({ lockfileVersion: 2, packages: {} }))[0],
    /lockfileVersion 2.*npm 11/,
  );
  assert.match(lockfileProblems("{ not json")[0], /not JSON.*npm install/);
});

test("the command refuses this project's lockfile stripped of other platforms' packages, and passes it whole", () => {
  const work = mkdtempSync(join(tmpdir(), "virtrigaud-lockfile-"));
  try {
    // What npm writes where the registry hides other platforms' packages: the
    // same lockfile without the entries whose os or cpu is not this machine's.
    const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8"));
    const foreign = (entry) =>
      (entry.os && !entry.os.includes(process.platform)) ||
      (entry.cpu && !entry.cpu.includes(process.arch));
    const stripped = Object.entries(lock.packages).filter(([, entry]) => !foreign(entry));
    assert.ok(
      stripped.length < Object.keys(lock.packages).length,
      "the lockfile holds other platforms' packages",
    );
    const file = join(work, "package-lock.json");
    writeFileSync(file, JSON.stringify({ ...lock, packages: Object.fromEntries(stripped) }));
    const refused = spawnSync(process.execPath, [script, file], { encoding: "utf8" });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /@bufbuild\/buf-win32-x64 \(optional dependency of @bufbuild\/buf@/,
    );
    assert.match(refused.stderr, /Fix: run `npm install`/);
    const ok = spawnSync(process.execPath, [script, join(repo, "package-lock.json")], {
      encoding: "utf8",
    });
    assert.equal(ok.stderr, "");
    assert.equal(ok.status, 0);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
