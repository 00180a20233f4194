import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  ImageFormat,
  PowerOperation,
  PowerState,
  copyDiskForSync,
  exportDisk,
  syncDisk,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import type { TestServer } from "@virtrigaud/contracts/testing";
import { removeDomains, testbed, virsh } from "./testbed.js";
import { done, useProvider } from "./use-provider.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const wait = { timeoutMs: 110_000, pollIntervalMs: 100, maxPollIntervalMs: 250 };
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;
let client: ProviderClient;
let vmId = "";
/** The guest's disk as raw bytes (1 GiB), as the test wrote it. */
let disk: Buffer;

/** Writes through the running qemu's own device backend: the path a guest's writes take. */
async function writeThroughQemu(domain: string, command: string): Promise<void> {
  const device = "/machine/peripheral/virtio-disk0/virtio-backend";
  const out = await virsh(
    "qemu-monitor-command",
    domain,
    "--hmp",
    `qemu-io -d ${device} "${command}"`,
  );
  if (out.trim()) throw new Error(`qemu-io ${command}: ${out.trim()}`);
}

async function removeLeftovers(): Promise<void> {
  await removeDomains("live-");
  await rm(`${testbed().poolDir}/.virtrigaud-transfers`, { recursive: true, force: true });
}

beforeAll(async () => {
  await removeLeftovers();
  provider = await useProvider();
  test = provider.test;
  client = test.client;
  const dir = `${testbed().dir}/images`;
  await mkdir(dir, { recursive: true });
  // 4 MiB of random bytes at 0, holes after: 1 GiB as the guest sees it (the least root disk).
  disk = Buffer.alloc(1024 * MiB);
  randomBytes(4 * MiB).copy(disk, 0);
  const file = await open(`${dir}/live-base.raw`, "w");
  await file.write(disk, 0, 4 * MiB, 0);
  await file.truncate(256 * MiB);
  await file.close();
  const made = await client.create({
    name: "live-src",
    class: { cpu: 1, memoryMib: 128 },
    image: { source: { case: "path", value: `${dir}/live-base.raw` } },
  });
  await done(test, made.task);
  vmId = made.vmId;
  const { disks } = await client.describeDisks({ vmId });
  expect(disks[0]?.capacityBytes).toBe(BigInt(disk.length));
});

afterAll(async () => {
  await provider?.close();
  await removeLeftovers();
});

describe("a running VM's disk exported at a snapshot, then the ranges changed since", () => {
  it("exports the disk as it was at the snapshot while qemu writes, lists exactly what it wrote since, and a copy synced with those ranges is the disk at cutover", async () => {
    await done(test, (await client.power({ vmId, operation: PowerOperation.ON })).task);
    const snap = await client.snapshotCreate({ vmId, name: "live-1" });
    await done(test, snap.task);
    const atSnapshot = disk.subarray(0);
    const thenDigest = sha256(atSnapshot);

    // qemu writes after the snapshot, while the export at the snapshot is made and read.
    await writeThroughQemu("live-src", "write -P 0x5a 64M 1M");
    const first = await exportDisk(
      client,
      {
        exportId: "live-at",
        vmId,
        diskName: "root",
        format: ImageFormat.RAW,
        snapshotId: snap.snapshotId,
      },
      wait,
    );
    await writeThroughQemu("live-src", "write -P 0x6b 200M 4k");
    expect(first.sha256).toBe(thenDigest);
    expect(first.changedRanges).toEqual([]);
    const vm = await client.describe({ vmId });
    expect(vm.vm?.powerState).toBe(PowerState.ON);

    // Copied at the snapshot into an import, held uncommitted.
    const copied = await copyDiskForSync({
      source: client,
      target: client,
      export: first,
      importId: "live-copy",
    });
    expect(copied.import.committed).toBe(false);
    expect(copied.import.receivedBytes).toBe(BigInt(disk.length));

    // Cutover: a last write, flushed, then the VM off (no guest to shut down by ACPI here).
    await writeThroughQemu("live-src", "write -z 240M 64k");
    await writeThroughQemu("live-src", "flush");
    await done(test, (await client.power({ vmId, operation: PowerOperation.OFF })).task);
    disk.fill(0x5a, 64 * MiB, 65 * MiB);
    disk.fill(0x6b, 200 * MiB, 200 * MiB + 4 * KiB);
    const nowDigest = sha256(disk);

    const changes = await exportDisk(
      client,
      {
        exportId: "live-now",
        vmId,
        diskName: "root",
        changedSinceSnapshotId: snap.snapshotId,
      },
      wait,
    );
    expect(changes.format).toBe(ImageFormat.RAW);
    expect(changes.sha256).toBe(nowDigest);
    // Whole 64 KiB clusters of the qcow2 image: what qemu wrote, zeroes included.
    expect(changes.changedRanges.map((r) => [Number(r.offset), Number(r.length)])).toEqual([
      [64 * MiB, MiB],
      [200 * MiB, 64 * KiB],
      [240 * MiB, 64 * KiB],
    ]);

    const synced = await syncDisk({
      source: client,
      target: client,
      export: changes,
      importId: "live-copy",
    });
    expect(synced.import.committed).toBe(true);
    expect(synced.writtenBytes).toBe(MiB + 128 * KiB);
    // The final sync moved about a thousandth of the disk.
    expect(synced.writtenBytes * 500).toBeLessThan(disk.length);
    const volume = await readFile(`${testbed().poolDir}/imported-live-copy.raw`);
    expect(sha256(volume)).toBe(nowDigest);

    for (const id of ["live-at", "live-now"]) await client.diskExportEnd({ exportId: id });
    await client.diskImportAbort({ importId: "live-copy" });
    await done(test, (await client.snapshotDelete({ vmId, snapshotId: snap.snapshotId })).task);
  });
});
