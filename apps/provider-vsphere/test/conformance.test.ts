// vcts, the conformance suite, against provider-vsphere on vcsim: both real
// processes, every profile but disk, so every other capability the provider
// declares is proven. The disk profile exports the disks of VMs it creates,
// and vcsim's own disks are no files (no VMDK descriptor, no bytes): the
// provider's disk operations are proven on vcsim with a real VMDK put on the
// datastore, in disk-transfer.test.ts, and end to end in the manager's
// e2e-guest test.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";
import { vcsimFromEnv } from "@virtrigaud/vsphere-sdk/testing";

const run = promisify(execFile);
const providerBin = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const vcts = fileURLToPath(new URL("../../../packages/conformance/bin/vcts.js", import.meta.url));

let provider: ProviderProcess;
let dir: string;
beforeAll(async () => {
  const env = vcsimFromEnv();
  dir = mkdtempSync(join(tmpdir(), "vcts-vsphere-"));
  provider = await startProviderProcess({
    args: [
      providerBin,
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "off",
      "--insecure",
      "--vcenter-url",
      env.url,
      "--vcenter-ca",
      env.caFile,
      "--cluster",
      "DC0_C0",
    ],
    env: { VSPHERE_USERNAME: env.username, VSPHERE_PASSWORD: env.password },
  });
});
afterAll(async () => {
  await provider?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every profile vcts runs here: all of them but disk (see above). */
const profiles = [
  "core",
  "power",
  "reconfigure",
  "agreement",
  "snapshot",
  "clone",
  "image",
  "bad-input",
  "concurrency",
  "deadline",
];

it("passes vcts with every profile but disk and every declared capability", async () => {
  const json = join(dir, "report.json");
  const result = await run(
    process.execPath,
    [
      vcts,
      "run",
      "--endpoint",
      provider.url,
      "--insecure",
      "--image",
      `template:${vcsimFromEnv().template}`,
      "--network",
      "VM Network",
      "--profile",
      profiles.join(","),
      "--json",
      json,
    ],
    { env: { ...process.env, NODE_OPTIONS: "" }, timeout: 600_000 },
  ).catch((err: { code: number; stdout: string; stderr: string }) => err);
  const report = JSON.parse(readFileSync(json, "utf8")) as {
    ok: boolean;
    provider: { type: string };
    profiles: Array<{ name: string; selected: boolean }>;
    cases: Array<{ id: string; status: string; mode: string; error?: string; log: string[] }>;
    leftovers: unknown[];
  };
  expect(report.cases.filter((c) => c.status !== "passed")).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.provider.type).toBe("vsphere");
  expect(report.profiles.filter((p) => !p.selected).map((p) => p.name)).toEqual(["disk"]);
  // Every capability the provider declares ran its case in "declared" mode, none as unsupported
  // (the disk profile's cases were not selected).
  expect(report.cases.filter((c) => c.mode === "unsupported").map((c) => c.id)).toEqual([]);
  expect(report.leftovers).toEqual([]);
  // The test bed's vcsim models VMware Tools: the running VM's Tools address was among the facts
  // ListVMs and Describe were found to agree on.
  const agreement = report.cases.find((c) => c.id === "agreement/power-states")?.log.join("\n");
  expect(agreement).toMatch(
    /running: ListVMs and Describe agree \(10\.\d+\.\d+\.\d+ GUEST_AGENT [0-9a-f]{2}(:[0-9a-f]{2}){5}\)/,
  );
  expect(result.stdout).toMatch(/PASS\s*$/);
}, 900_000);
