import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "@jest/globals";
import {
  type DiskExport,
  ErrorReason,
  ImageFormat,
  PowerOperation,
  ProviderError,
  copyDisk,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import { createFakeClock, startTestServer } from "@virtrigaud/contracts/testing";
import { type MockProviderOptions, createMockProvider } from "./mock-provider.js";

const vmClass = { cpu: 1, memoryMib: 512 };
const debian = { source: { case: "template" as const, value: "debian-12" } };
const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((close) => close()));
});

async function serve(options: MockProviderOptions = {}) {
  const provider = createMockProvider({ diskBytes: 1024 * 1024 + 5, ...options });
  const test = await startTestServer(provider);
  running.push(async () => {
    await test.close();
    await provider.close();
  });
  return test.client;
}

async function failure(call: Promise<unknown>): Promise<ProviderError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ProviderError.is(error)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function vmWithDisks(client: ProviderClient, name: string) {
  const { vmId, task } = await client.create({
    name,
    class: vmClass,
    image: { source: { case: "template", value: "debian-12" } },
    disks: [{ name: "data", sizeGib: 2 }],
  });
  await client.waitForTask(task);
  return vmId;
}

async function exportDisk(client: ProviderClient, vmId: string, disk: string, exportId: string) {
  const { export: made } = await client.diskExportBegin({ exportId, vmId, diskName: disk });
  if (!made) throw new Error("no export");
  return made;
}

/** Reads a whole export, chunk by chunk, as bytes. */
async function readAll(client: ProviderClient, made: DiskExport, chunk = 256 * 1024) {
  const bytes = new Uint8Array(Number(made.sizeBytes));
  let zeroChunks = 0;
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    const { chunk: read } = await client.diskExportRead({
      exportId: made.id,
      offset: BigInt(offset),
      length: chunk,
    });
    if (read?.content.case === "data") bytes.set(read.content.value, offset);
    if (read?.content.case === "zeroLength") zeroChunks++;
  }
  return { bytes, zeroChunks };
}

describe("disks of the mock", () => {
  it("describes a VM's disks, root first, with their sizes", async () => {
    const client = await serve();
    const vmId = await vmWithDisks(client, "web-1");
    const { disks } = await client.describeDisks({ vmId });
    expect(disks.map((d) => [d.name, d.index, d.format, d.capacityBytes])).toEqual([
      ["root", 0, ImageFormat.QCOW2, 10n * 1024n ** 3n],
      ["data", 1, ImageFormat.QCOW2, 2n * 1024n ** 3n],
    ]);
    expect(disks[0]?.allocatedBytes).toBe(BigInt(1024 * 1024 + 5));
  });

  it("exports bytes made from the VM's name: the same for the same VM, others for another, zeros as zero_length", async () => {
    const client = await serve();
    const a = await vmWithDisks(client, "web-1");
    const b = await vmWithDisks(client, "web-2");
    const first = await exportDisk(client, a, "root", "exp-a");
    const again = await exportDisk(client, a, "root", "exp-a");
    const other = await exportDisk(client, b, "root", "exp-b");
    expect(again).toEqual(first);
    expect(other.sha256).not.toBe(first.sha256);
    const { bytes, zeroChunks } = await readAll(client, first);
    expect(sha256(bytes)).toBe(first.sha256);
    expect(zeroChunks).toBeGreaterThanOrEqual(1);
    expect(first.capacityBytes).toBe(10n * 1024n ** 3n);
  });

  it("makes an export in a task when tasks take time, and answers it once the task is done", async () => {
    const clock = createFakeClock();
    const client = await serve({ latencyMs: 1000, clock });
    const created = await client.create({ name: "web-1", class: vmClass, image: debian });
    await clock.advance(1000);
    await client.waitForTask(created.task, { pollIntervalMs: 5 });
    const vmId = created.vmId;
    const request = { exportId: "e-1", vmId, diskName: "root" };
    const first = await client.diskExportBegin(request);
    expect(first.export).toBeUndefined();
    expect(
      (await failure(client.diskExportRead({ exportId: "e-1", offset: 0n, length: 1 }))).reason,
    ).toBe(ErrorReason.RETRYABLE);
    const joined = await client.diskExportBegin(request);
    expect(joined.task?.id).toBe(first.task?.id);
    await clock.advance(1000);
    await client.waitForTask(first.task, { pollIntervalMs: 5 });
    const { export: made } = await client.diskExportBegin(request);
    expect(made?.sizeBytes).toBe(BigInt(1024 * 1024 + 5));
  });

  it("refuses to export a running VM's disk without a snapshot, and exports it from one", async () => {
    const client = await serve();
    const vmId = await vmWithDisks(client, "web-1");
    await client.waitForTask((await client.power({ vmId, operation: PowerOperation.ON })).task);
    const refused = await failure(
      client.diskExportBegin({ exportId: "e-1", vmId, diskName: "root" }),
    );
    expect(refused.reason).toBe(ErrorReason.CONFLICT);
    const { snapshotId, task } = await client.snapshotCreate({ vmId, name: "s" });
    await client.waitForTask(task);
    const { export: made } = await client.diskExportBegin({
      exportId: "e-1",
      vmId,
      diskName: "root",
      snapshotId,
    });
    expect(made?.sizeBytes).toBe(BigInt(1024 * 1024 + 5));
  });

  it("ends reads at the end of the file and refuses an offset past it", async () => {
    const client = await serve();
    const made = await exportDisk(client, await vmWithDisks(client, "web-1"), "root", "e-1");
    const size = Number(made.sizeBytes);
    const tail = await client.diskExportRead({
      exportId: "e-1",
      offset: BigInt(size - 3),
      length: 100,
    });
    expect(tail.chunk?.content).toMatchObject({ case: "data" });
    expect(tail.chunk?.content.value).toHaveLength(3);
    const atEnd = await client.diskExportRead({
      exportId: "e-1",
      offset: BigInt(size),
      length: 100,
    });
    expect(atEnd.chunk?.content.value).toHaveLength(0);
    const past = await failure(
      client.diskExportRead({ exportId: "e-1", offset: BigInt(size + 1), length: 100 }),
    );
    expect(past.field).toBe("offset");
    await client.diskExportEnd({ exportId: "e-1" });
    await client.diskExportEnd({ exportId: "e-1" });
    expect(
      (await failure(client.diskExportRead({ exportId: "e-1", offset: 0n, length: 1 }))).reason,
    ).toBe(ErrorReason.NOT_FOUND);
  });

  it("moves a disk to another mock, creates a VM from it, and exports exactly its bytes", async () => {
    const source = await serve();
    const target = await serve();
    const made = await exportDisk(source, await vmWithDisks(source, "web-1"), "data", "e-1");
    const { disk } = await copyDisk({
      source,
      target,
      export: made,
      importId: "imp-1",
      chunkBytes: 256 * 1024,
    });
    expect(disk.source).toEqual({ case: "importedDisk", value: "imp-1" });

    const { vmId, task } = await target.create({ name: "moved", class: vmClass, image: disk });
    await target.waitForTask(task);
    const { disks } = await target.describeDisks({ vmId });
    expect(disks[0]).toMatchObject({
      name: "root",
      format: ImageFormat.QCOW2,
      allocatedBytes: made.sizeBytes,
    });
    const again = await exportDisk(target, vmId, "root", "e-2");
    expect([again.sha256, again.sizeBytes]).toEqual([made.sha256, made.sizeBytes]);
    expect(sha256((await readAll(target, again)).bytes)).toBe(made.sha256);
  });

  it("adopts an imported data disk (DiskSpec.source) once, and frees it with the VM", async () => {
    const source = await serve();
    const target = await serve();
    const made = await exportDisk(source, await vmWithDisks(source, "web-1"), "data", "e-1");
    await copyDisk({ source, target, export: made, importId: "imp-1" });
    const spec = {
      class: vmClass,
      disks: [
        {
          name: "data",
          sizeGib: 2,
          source: { source: { case: "importedDisk" as const, value: "imp-1" } },
        },
      ],
    };
    const { vmId, task } = await target.create({ name: "a", ...spec });
    await target.waitForTask(task);
    const twice = await failure(target.create({ name: "b", ...spec }));
    expect(twice.field).toBe("disks[0].source.imported_disk");
    // Abort leaves an adopted import with its VM.
    await target.diskImportAbort({ importId: "imp-1" });
    expect((await exportDisk(target, vmId, "data", "e-3")).sha256).toBe(made.sha256);
    await target.diskExportEnd({ exportId: "e-3" });

    await target.waitForTask((await target.delete({ vmId })).task);
    const gone = await failure(
      target.create({
        name: "c",
        class: vmClass,
        image: { source: { case: "importedDisk", value: "imp-1" } },
      }),
    );
    expect(gone.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(gone.rawMessage).toMatch(/no import/);
  });

  it("refuses to create from an import not committed yet", async () => {
    const target = await serve();
    await target.diskImportBegin({
      importId: "imp-1",
      format: ImageFormat.RAW,
      sizeBytes: 4n,
      sha256: "a".repeat(64),
    });
    const refused = await failure(
      target.create({
        name: "c",
        class: vmClass,
        image: { source: { case: "importedDisk", value: "imp-1" } },
      }),
    );
    expect(refused.field).toBe("image.imported_disk");
    expect(refused.rawMessage).toMatch(/not committed/);
  });

  it("answers RESOURCE_EXHAUSTED past --disk-memory, and frees what an abort drops", async () => {
    const target = await serve({ diskMemoryBytes: 1000 });
    const begin = (importId: string) =>
      target.diskImportBegin({
        importId,
        format: ImageFormat.RAW,
        sizeBytes: 600n,
        sha256: "a".repeat(64),
      });
    await begin("imp-1");
    expect((await failure(begin("imp-2"))).reason).toBe(ErrorReason.RESOURCE_EXHAUSTED);
    await target.diskImportAbort({ importId: "imp-1" });
    await target.diskImportAbort({ importId: "imp-1" });
    expect((await begin("imp-2")).import?.receivedBytes).toBe(0n);
  });

  it("refuses a chunk that does not match its sha256 and keeps nothing of it", async () => {
    const target = await serve();
    const data = new Uint8Array([1, 2, 3, 4]);
    await target.diskImportBegin({
      importId: "imp-1",
      format: ImageFormat.RAW,
      sizeBytes: 8n,
      sha256: "a".repeat(64),
    });
    const refused = await failure(
      target.diskImportWrite({
        importId: "imp-1",
        chunk: {
          offset: 0n,
          content: { case: "data", value: data },
          sha256: sha256(new Uint8Array(4)),
        },
      }),
    );
    expect(refused.reason).toBe(ErrorReason.DATA_LOSS);
    const { import: held } = await target.diskImportBegin({
      importId: "imp-1",
      format: ImageFormat.RAW,
      sizeBytes: 8n,
      sha256: "a".repeat(64),
    });
    expect(held?.receivedBytes).toBe(0n);
  });
});

describe("disk faults of the mock", () => {
  it("corrupt-chunk: a read comes back damaged, copyDisk reads it again", async () => {
    const source = await serve({
      faults: [{ operation: "diskExportRead", mode: "corrupt-chunk", times: 1 }],
    });
    const target = await serve();
    const made = await exportDisk(source, await vmWithDisks(source, "web-1"), "root", "e-1");
    const result = await copyDisk({
      source,
      target,
      export: made,
      importId: "imp-1",
      chunkBytes: 256 * 1024,
    });
    expect(result.resentChunks).toBe(1);
    expect(result.import.committed).toBe(true);
  });

  it("diskImportWrite:fail with durationMs: writes are refused UNAVAILABLE for a while, then taken", async () => {
    const target = await serve({
      faults: [
        { operation: "diskImportWrite", mode: "fail", reason: "unavailable", durationMs: 300 },
      ],
    });
    const source = await serve();
    const made = await exportDisk(source, await vmWithDisks(source, "web-1"), "root", "e-1");
    const copy = () =>
      copyDisk({ source, target, export: made, importId: "imp-1", chunkBytes: 256 * 1024 });
    expect((await failure(copy())).reason).toBe(ErrorReason.UNAVAILABLE);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await copy()).import.committed).toBe(true);
  });
});
