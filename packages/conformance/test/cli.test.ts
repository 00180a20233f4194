import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { type ConformanceReport, allCases, profileNames } from "../src/index.js";
import { startMock, vcts } from "./mock-process.js";

const run = promisify(execFile);

/** Runs the vcts CLI as a real process; returns its exit code and output. */
async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [vcts, ...args], {
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let mock: ProviderProcess;
let dir: string;
beforeAll(async () => {
  mock = await startMock();
  dir = mkdtempSync(join(tmpdir(), "vcts-cli-"));
});
afterAll(async () => {
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("vcts run passes every profile against provider-mock and writes JUnit and JSON", async () => {
  const junit = join(dir, "report.xml");
  const json = join(dir, "report.json");
  const { code, stdout } = await cli([
    "run",
    "--endpoint",
    mock.url,
    "--insecure",
    "--junit",
    junit,
    "--json",
    json,
  ]);
  expect(stdout).toMatch(/PASS\s*$/);
  expect(code).toBe(0);
  const report = JSON.parse(readFileSync(json, "utf8")) as ConformanceReport;
  expect(report.ok).toBe(true);
  expect(report.provider.type).toBe("mock");
  expect(report.profiles.map((p) => [p.name, p.selected])).toEqual(
    profileNames.map((name) => [name, true]),
  );
  expect(report.cases.map((c) => c.id)).toEqual(allCases.map((c) => c.id));
  expect(report.cases.filter((c) => c.status !== "passed")).toEqual([]);
  expect(report.leftovers).toEqual([]);
  // The mock declares every capability: no case fell back to its UNSUPPORTED check.
  expect(report.cases.filter((c) => c.mode === "undeclared").map((c) => c.id)).toEqual([]);
  const xml = readFileSync(junit, "utf8");
  expect(xml).toMatch(
    /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="vcts" tests="\d+" failures="0"/,
  );
  for (const name of profileNames) expect(xml).toContain(`<testsuite name="${name}"`);
  expect(xml.match(/<testcase /g)?.length).toBe(allCases.length + 1);
});

it("vcts run checks UNSUPPORTED answers for what a provider does not declare", async () => {
  const limited = await startMock([
    "--disable",
    "snapshots,linked_clones,suspend,image_prepare,online_reconfigure,online_disk_grow,disk_export_formats,disk_import_formats",
  ]);
  try {
    const json = join(dir, "limited.json");
    const { code } = await cli([
      "run",
      "--endpoint",
      limited.url,
      "--insecure",
      "--json",
      json,
      "--profile",
      "power,reconfigure,snapshot,clone,image,disk,disk-sync",
    ]);
    const report = JSON.parse(readFileSync(json, "utf8")) as ConformanceReport;
    expect(report.cases.filter((c) => c.status !== "passed")).toEqual([]);
    expect(code).toBe(0);
    expect(report.cases.filter((c) => c.mode === "undeclared").map((c) => c.id)).toEqual([
      "power/suspend",
      "reconfigure/online-disk-grow",
      "snapshot/lifecycle",
      "snapshot/idempotent",
      "snapshot/memory",
      "clone/linked",
      "image/prepare",
      "disk/round-trip",
      "disk/damaged-chunk",
      "disk/resume",
      "disk/idempotent",
      "disk/pull",
      "disk-sync/at-snapshot",
      "disk-sync/changed-ranges",
      "disk-sync/rewrite",
    ]);
    expect(report.profiles.find((p) => p.name === "snapshot")?.declared).toBe(false);
  } finally {
    await limited.stop();
  }
});

it("vcts list prints every profile and case", async () => {
  const { code, stdout } = await cli(["list"]);
  expect(code).toBe(0);
  for (const c of allCases) expect(stdout).toContain(c.id);
});

it.each([
  [["run"], /--endpoint is required/],
  [
    ["run", "--endpoint", "http://127.0.0.1:1", "--profile", "everything"],
    /--profile everything is not one of/,
  ],
  [["run", "--endpoint", "http://127.0.0.1:1", "--timeout", "soon"], /--timeout/],
  [
    ["run", "--endpoint", "http://127.0.0.1:1", "--export-disk", "vm-without-disk"],
    /--export-disk must be VM_ID\/DISK/,
  ],
  [["fly"], /unknown command fly/],
])("refuses bad usage %j with exit status 2", async (args, message) => {
  const { code, stderr } = await cli(args);
  expect(code).toBe(2);
  expect(stderr).toMatch(message);
});

it("refuses a plaintext endpoint without --insecure, and an unreachable one, with exit status 1", async () => {
  const plaintext = await cli(["run", "--endpoint", mock.url]);
  expect(plaintext.code).toBe(1);
  expect(plaintext.stderr).toMatch(/pass --insecure/);
  const unreachable = await cli(["run", "--endpoint", "http://127.0.0.1:9", "--insecure"]);
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toMatch(/cannot test http:\/\/127.0.0.1:9: \[unavailable\]/);
});
