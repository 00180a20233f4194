// vcts, the conformance suite, against provider-vsphere on vcsim: both real
// processes, every profile, so every capability the provider declares is
// proven. vcsim's own VM disks are no files (no VMDK descriptor, no bytes), so
// the disk profile is given a disk that holds bytes (--export-disk): a VMDK
// put on the datastore and attached to a VM here. Its round trip then imports
// those bytes, makes a VM of them and exports that VM's disk again.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { NetworkType } from "@virtrigaud/contracts";
import { type ProviderClient, createProviderClient } from "@virtrigaud/contracts/client";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";
import type { VimClient } from "@virtrigaud/vsphere-sdk";
import { uniqueName, vcsimClient, vcsimFromEnv } from "@virtrigaud/vsphere-sdk/testing";
import { attachVmdk, putVmdk, rawDisk } from "./datastore-disks.js";

const run = promisify(execFile);
const providerBin = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const vcts = fileURLToPath(new URL("../../../packages/conformance/bin/vcts.js", import.meta.url));

let provider: ProviderProcess;
let dir: string;
let inspector: VimClient;
let client: ProviderClient;
/** The VM whose disk the disk profile exports, and the SHA-256 of that disk's bytes. */
let diskVm = "";
let diskSha256 = "";

/** A VM, off, whose root disk is 16 MiB of random bytes and zeros in a flat VMDK on the datastore. */
async function vmWithRealDisk(): Promise<string> {
  const disk = rawDisk(16);
  diskSha256 = createHash("sha256").update(disk).digest("hex");
  const raw = join(dir, "disk.raw");
  writeFileSync(raw, disk);
  const onDatastore = { inspector, datastore: "LocalDS_0", work: dir };
  const vmdk = await putVmdk(onDatastore, raw, "raw", uniqueName("vcts-disk"), "disk");
  rmSync(raw);
  const { vmId, task } = await client.create({
    name: uniqueName("vcts-disk-source"),
    class: { cpu: 1, memoryMib: 512 },
    networks: [{ network: "VM Network", type: NetworkType.PORT_GROUP }],
  });
  await client.waitForTask(task, { timeoutMs: 60_000 });
  await attachVmdk(onDatastore, vmId, vmdk, disk.length);
  return vmId;
}

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
  inspector = vcsimClient();
  client = createProviderClient(provider.url);
  diskVm = await vmWithRealDisk();
});
afterAll(async () => {
  if (diskVm) await client.waitForTask((await client.delete({ vmId: diskVm })).task);
  await inspector?.close();
  await provider?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("passes vcts with every profile and every declared capability", async () => {
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
      "--export-disk",
      `${diskVm}/root`,
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
  expect(report.profiles.filter((p) => !p.selected).map((p) => p.name)).toEqual([]);
  // Every capability the provider declares ran its case in "declared" mode. The final sync's
  // three are not declared (no export from a snapshot, no CBT in vcsim, no import rewrites),
  // nor is sharing exports (this provider runs without a transfer listener): their cases
  // checked that each answers UNSUPPORTED.
  expect(report.cases.filter((c) => c.mode === "undeclared").map((c) => c.id)).toEqual([
    "disk/pull",
    "disk-sync/at-snapshot",
    "disk-sync/changed-ranges",
    "disk-sync/rewrite",
  ]);
  // The disk profile's round trip moved the bytes of the disk put on the datastore.
  const roundTrip = report.cases.find((c) => c.id === "disk/round-trip")?.log.join("\n");
  expect(roundTrip).toContain(`${16 << 20} bytes went out and came back with sha256 ${diskSha256}`);
  expect(report.leftovers).toEqual([]);
  // The test bed's vcsim models VMware Tools: the running VM's Tools address was among the facts
  // ListVMs and Describe were found to agree on.
  const agreement = report.cases.find((c) => c.id === "agreement/power-states")?.log.join("\n");
  expect(agreement).toMatch(
    /running: ListVMs and Describe agree \(10\.\d+\.\d+\.\d+ GUEST_AGENT [0-9a-f]{2}(:[0-9a-f]{2}){5}\)/,
  );
  expect(result.stdout).toMatch(/PASS\s*$/);
}, 900_000);
