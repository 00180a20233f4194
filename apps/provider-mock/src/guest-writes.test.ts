import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "@jest/globals";
import {
  type DiskExport,
  ErrorReason,
  ImageFormat,
  PowerOperation,
  ProviderError,
  chunkOf,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import { startTestServer } from "@virtrigaud/contracts/testing";
import { createMockProvider } from "./mock-provider.js";

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((close) => close()));
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const diskBytes = 4 * 1024 * 1024;

async function serve(options: Parameters<typeof createMockProvider>[0] = {}) {
  const provider = createMockProvider({ diskBytes, guestWriteBytes: 8192, ...options });
  const test = await startTestServer(provider);
  running.push(async () => {
    await test.close();
    await provider.close();
  });
  return test.client;
}

async function readAll(client: ProviderClient, made: DiskExport): Promise<Uint8Array> {
  const bytes = new Uint8Array(Number(made.sizeBytes));
  for (let offset = 0; offset < bytes.length; offset += 1024 * 1024) {
    const { chunk } = await client.diskExportRead({
      exportId: made.id,
      offset: BigInt(offset),
      length: 1024 * 1024,
    });
    if (chunk?.content.case === "data") bytes.set(chunk.content.value, offset);
  }
  return bytes;
}

async function begin(
  client: ProviderClient,
  request: Parameters<ProviderClient["diskExportBegin"]>[0],
) {
  const { export: made } = await client.diskExportBegin(request);
  if (!made) throw new Error("no export");
  return made;
}

describe("a running mock guest's writes after a snapshot", () => {
  it("are left out of the export at the snapshot and listed as the ranges changed since it", async () => {
    const client = await serve();
    const { vmId, task } = await client.create({
      name: "busy-1",
      class: { cpu: 1, memoryMib: 512 },
      image: { source: { case: "template", value: "debian-12" } },
    });
    await client.waitForTask(task);
    await client.waitForTask((await client.power({ vmId, operation: PowerOperation.ON })).task);
    const snap = await client.snapshotCreate({ vmId, name: "before" });
    await client.waitForTask(snap.task);
    const atSnapshot = await begin(client, {
      exportId: "at-snap",
      vmId,
      diskName: "root",
      format: ImageFormat.RAW,
      snapshotId: snap.snapshotId,
    });
    const old = await readAll(client, atSnapshot);
    expect(sha256(old)).toBe(atSnapshot.sha256);

    // Shut down gracefully: the guest writes once more on the way down.
    await client.waitForTask(
      (await client.power({ vmId, operation: PowerOperation.SHUTDOWN })).task,
    );
    const now = await begin(client, {
      exportId: "now",
      vmId,
      diskName: "root",
      changedSinceSnapshotId: snap.snapshotId,
    });
    expect(now.format).toBe(ImageFormat.RAW);
    const current = await readAll(client, now);
    expect(now.sha256).not.toBe(atSnapshot.sha256);
    const changed = now.changedRanges.reduce((n, r) => n + Number(r.length), 0);
    // Two writes of 8 KiB (after the snapshot and at shutdown), far less than the disk.
    expect(changed).toBe(2 * 8192);

    // The copy at the snapshot, with the changed ranges written again, is the disk now.
    const { import: held } = await client.diskImportBegin({
      importId: "copy",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(old.length),
      sha256: atSnapshot.sha256,
    });
    expect(held?.receivedBytes).toBe(0n);
    for (let offset = 0; offset < old.length; offset += 1024 * 1024)
      await client.diskImportWrite({
        importId: "copy",
        chunk: chunkOf(offset, old.subarray(offset, offset + 1024 * 1024)),
      });
    const patched = old.slice();
    for (const r of now.changedRanges) {
      const from = Number(r.offset);
      patched.set(current.subarray(from, from + Number(r.length)), from);
      await client.diskImportWrite({
        importId: "copy",
        chunk: chunkOf(from, current.subarray(from, from + Number(r.length))),
      });
    }
    expect(sha256(patched)).toBe(now.sha256);
    const wrong = await client
      .diskImportCommit({ importId: "copy", sha256: atSnapshot.sha256 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(ProviderError.is(wrong, ErrorReason.DATA_LOSS)).toBe(true);
  });

  it("commits a file brought up to date under the SHA-256 the commit names", async () => {
    const client = await serve();
    const first = new Uint8Array(1024 * 1024).fill(7);
    const second = first.slice();
    second.fill(0, 4096, 8192);
    await client.diskImportBegin({
      importId: "synced",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(first.length),
      sha256: sha256(first),
    });
    await client.diskImportWrite({ importId: "synced", chunk: chunkOf(0, first) });
    // A range that became zeros is written as zeros, not left as it was.
    await client.diskImportWrite({
      importId: "synced",
      chunk: chunkOf(4096, second.subarray(4096, 8192)),
    });
    const { import: done } = await client.diskImportCommit({
      importId: "synced",
      sha256: sha256(second),
    });
    expect(done?.committed).toBe(true);
  });

  it("are refused as UNSUPPORTED when the capabilities are turned off", async () => {
    const client = await serve({
      disable: ["disk_export_changed_ranges", "disk_import_rewrites"],
    });
    const caps = (await client.getCapabilities({})).capabilities;
    expect([caps?.diskExportChangedRanges, caps?.diskImportRewrites]).toEqual([false, false]);
    const reasonOf = (call: Promise<unknown>) =>
      call.then(
        () => undefined,
        (e: unknown) => ProviderError.from(e).reason,
      );
    expect(
      await reasonOf(
        client.diskExportBegin({
          exportId: "x",
          vmId: "vm-1",
          diskName: "root",
          changedSinceSnapshotId: "snap-1",
        }),
      ),
    ).toBe(ErrorReason.UNSUPPORTED);
    expect(await reasonOf(client.diskImportCommit({ importId: "i", sha256: "a".repeat(64) }))).toBe(
      ErrorReason.UNSUPPORTED,
    );
  });
});
