import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify, stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { runConformance } from "@virtrigaud/conformance";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";

// The scaffolder's promise, kept for real: a generated project, installed
// against this repository's packages, builds, starts, and passes vcts with no
// edits. Slow (it installs the project's tools from the npm registry).
const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const cli = fileURLToPath(new URL("../bin/create-virtrigaud-provider.js", import.meta.url));
const env = { ...process.env, NODE_OPTIONS: "" };

let work: string;
let project: string;
let provider: ProviderProcess | undefined;
let lockfile: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "virtrigaud-scaffold-"));
  project = join(work, "acme");
  await run(process.execPath, [cli, "acme", "--dir", project], { env });
  // This repository's packages, as npm would publish them.
  const tarballs: string[] = [];
  for (const pkg of ["packages/proto", "packages/contracts", "packages/conformance"]) {
    const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", work], {
      cwd: join(root, pkg),
      env,
    });
    tarballs.push(join(work, stdout.trim().split("\n").at(-1) ?? ""));
  }
  await run("npm", ["install", "--no-audit", "--no-fund", ...tarballs], {
    cwd: project,
    env,
    maxBuffer: 16 << 20,
  });
  await run("npm", ["install", "--no-audit", "--no-fund"], {
    cwd: project,
    env,
    maxBuffer: 16 << 20,
  });
  // From here on the project installs as its README and Dockerfile say: npm ci.
  lockfile = readFileSync(join(project, "package-lock.json"), "utf8");
  await run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: project, env, maxBuffer: 16 << 20 });
}, 600_000);

afterAll(async () => {
  await provider?.stop();
  rmSync(work, { recursive: true, force: true });
});

it("installs with npm ci from a complete lockfile, which the install leaves as it was", async () => {
  expect(readFileSync(join(project, "package-lock.json"), "utf8")).toBe(lockfile);
  // Every platform's optional packages are locked, so npm ci works on any machine.
  await run(process.execPath, [join(root, "tools/lockfile/check.mjs"), "package-lock.json"], {
    cwd: project,
    env,
  });
  const dockerfile = readFileSync(join(project, "Dockerfile"), "utf8");
  expect(dockerfile).toContain("COPY package.json package-lock.json ./");
  expect(dockerfile).toMatch(/^RUN npm ci\b/m);
});

it("builds and type-checks with its own strict settings", async () => {
  await run("npm", ["run", "build"], { cwd: project, env });
  await run("npm", ["run", "typecheck"], { cwd: project, env });
}, 300_000);

it("starts and passes vcts core and bad-input", async () => {
  provider = await startProviderProcess({
    args: [
      join(project, "dist/main.js"),
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "off",
      "--insecure",
    ],
  });
  const report = await runConformance({
    endpoint: provider.url,
    insecure: true,
    profiles: ["core", "bad-input"],
  });
  expect(report.cases.filter((c) => c.status !== "passed")).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.provider.type).toBe("acme");
}, 300_000);

it("passes its own test suite, which runs every vcts profile", async () => {
  const { stdout, stderr } = await run("npm", ["test"], { cwd: project, env, maxBuffer: 16 << 20 });
  // Under nx the output is coloured; the summary line is checked without its colours.
  expect(stripVTControlCharacters(`${stdout}${stderr}`)).toMatch(/Tests:\s+\d+ passed, \d+ total/);
}, 600_000);
