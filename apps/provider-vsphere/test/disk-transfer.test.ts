import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  type DiskChunk,
  type DiskExport,
  ErrorReason,
  ImageFormat,
  NetworkType,
  PowerOperation,
  ProviderError,
  type TaskRef,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import { type TestServer, startTestServer } from "@virtrigaud/contracts/testing";
import {
  type DatastoreFile,
  type VimClient,
  createFinder,
  openDatastoreFile,
  retrieveOne,
  statDatastoreFile,
  uploadDatastoreFile,
} from "@virtrigaud/vsphere-sdk";
import { uniqueName, vcsimClient } from "@virtrigaud/vsphere-sdk/testing";
import { type VsphereProvider, createVsphereProvider } from "../src/index.js";
import { devicesOf } from "../src/devices.js";
import { flatExtentOf, parseVmdkDescriptor } from "../src/vmdk-descriptor.js";
import { type DatastoreDisks, attachVmdk, putVmdk, rawDisk } from "./datastore-disks.js";

const datastore = "LocalDS_0";
const work = mkdtempSync(join(tmpdir(), "vsphere-disks-"));
const staging = join(work, "staging");
let inspector: VimClient;
let dcPath: string;
let onDatastore: DatastoreDisks;

/** A provider and a client of it, over a real socket. */
interface Running {
  provider: VsphereProvider;
  server: TestServer;
  client: ProviderClient;
}
const running: Running[] = [];
async function startProvider(): Promise<Running> {
  const provider = createVsphereProvider({
    client: vcsimClient(),
    defaults: { cluster: "DC0_C0", datastore },
    diskStagingDir: staging,
  });
  const server = await startTestServer(provider);
  const r = { provider, server, client: server.client };
  running.push(r);
  return r;
}
async function stopProvider(r: Running): Promise<void> {
  running.splice(running.indexOf(r), 1);
  await r.server.close();
  await r.provider.close();
}
let client: ProviderClient;

beforeAll(async () => {
  inspector = vcsimClient();
  dcPath = (await createFinder(inspector).datacenter()).path;
  onDatastore = { inspector, datastore, work };
  client = (await startProvider()).client;
});
afterAll(async () => {
  for (const r of [...running]) await stopProvider(r);
  await inspector.close();
  rmSync(work, { recursive: true, force: true });
});

const done = async (task: TaskRef | undefined) => {
  if (task) await client.waitForTask(task, { timeoutMs: 240_000 });
};
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
async function reasonOf(work: Promise<unknown>): Promise<ErrorReason | undefined> {
  try {
    await work;
  } catch (err) {
    return ProviderError.is(err) ? err.reason : undefined;
  }
  return undefined;
}
const file = (path: string): DatastoreFile => ({ datacenterPath: dcPath, datastore, path });

/** A VM made from scratch without disks, off, with the VMDK at `fileName` attached as its disk. */
async function vmWithDisk(fileName: string, capacityBytes: number): Promise<string> {
  const { vmId, task } = await client.create({
    name: uniqueName("disk-vm"),
    class: { cpu: 1, memoryMib: 512 },
    networks: [{ network: "VM Network", type: NetworkType.PORT_GROUP }],
  });
  await done(task);
  await attachVmdk(onDatastore, vmId, fileName, capacityBytes);
  return vmId;
}

/** Begins an export and waits for its checksum. */
async function exportDisk(exportId: string, vmId: string): Promise<DiskExport> {
  const request = { exportId, vmId, diskName: "root", format: ImageFormat.RAW };
  const first = await client.diskExportBegin(request);
  await done(first.task);
  const { export: ready } = await client.diskExportBegin(request);
  if (!ready) throw new Error("the export is not ready");
  return ready;
}

/** Reads a whole export in chunks of 2 MiB, checking each chunk's SHA-256, into its SHA-256. */
async function readExport(ready: DiskExport): Promise<{ sha256: string; zeroChunks: number }> {
  const hash = createHash("sha256");
  const size = Number(ready.sizeBytes);
  let zeroChunks = 0;
  for (let offset = 0; offset < size; offset += 2 << 20) {
    const { chunk } = await client.diskExportRead({
      exportId: ready.id,
      offset: BigInt(offset),
      length: 2 << 20,
    });
    const bytes = chunkBytes(chunk);
    expect(sha256(bytes)).toBe(chunk?.sha256);
    if (chunk?.content.case === "zeroLength") zeroChunks++;
    hash.update(bytes);
  }
  return { sha256: hash.digest("hex"), zeroChunks };
}
function chunkBytes(chunk: DiskChunk | undefined): Uint8Array {
  if (chunk?.content.case === "data") return chunk.content.value;
  if (chunk?.content.case === "zeroLength") return new Uint8Array(Number(chunk.content.value));
  return new Uint8Array();
}

/** Writes a whole file to an import in 2 MiB chunks, from `from`. */
async function writeImport(
  importId: string,
  data: Buffer,
  from = 0,
  to = data.length,
): Promise<bigint> {
  let received = 0n;
  for (let offset = from; offset < to; offset += 2 << 20) {
    const bytes = data.subarray(offset, Math.min(offset + (2 << 20), to));
    const zero = bytes.every((b) => b === 0);
    ({ receivedBytes: received } = await client.diskImportWrite({
      importId,
      chunk: {
        offset: BigInt(offset),
        content: zero
          ? { case: "zeroLength", value: BigInt(bytes.length) }
          : { case: "data", value: bytes },
        sha256: sha256(bytes),
      },
    }));
  }
  return received;
}

/** Commits an import and waits until it is committed. */
async function commit(importId: string) {
  const first = await client.diskImportCommit({ importId });
  await done(first.task);
  return client.diskImportCommit({ importId });
}

async function download(path: string): Promise<Buffer> {
  const { stream } = await openDatastoreFile(inspector, file(path));
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("export", () => {
  const dir = `${uniqueName("src")} &#?%[1]`;
  const disk = rawDisk(10);
  let vmId: string;
  beforeAll(async () => {
    const raw = join(work, "small.raw");
    writeFileSync(raw, disk);
    vmId = await vmWithDisk(
      await putVmdk(onDatastore, raw, "raw", dir, "disk #1 & more"),
      disk.length,
    );
  });

  it("describes the attached disk from the VM's config", async () => {
    const { disks } = await client.describeDisks({ vmId });
    expect(disks).toHaveLength(1);
    expect(disks[0]).toMatchObject({
      name: "root",
      format: ImageFormat.VMDK,
      capacityBytes: BigInt(disk.length),
      location: `[${datastore}] ${dir}/disk #1 & more.vmdk`,
      index: 0,
    });
  });

  it("exports the flat extent as RAW, zero ranges as zero_length, with the whole file's SHA-256", async () => {
    const ready = await exportDisk("exp/small?#1", vmId);
    expect(ready).toMatchObject({
      format: ImageFormat.RAW,
      sizeBytes: BigInt(disk.length),
      sha256: sha256(disk),
    });
    const read = await readExport(ready);
    expect(read.sha256).toBe(sha256(disk));
    expect(read.zeroChunks).toBeGreaterThan(0);
    // An export id is one disk's: another VM's disk under it is refused.
    const other = await vmWithDisk(
      await putVmdk(onDatastore, join(work, "small.raw"), "raw", dir, "other"),
      disk.length,
    );
    expect(
      await reasonOf(client.diskExportBegin({ exportId: ready.id, vmId: other, diskName: "root" })),
    ).toBe(ErrorReason.CONFLICT);
    // The same id again is the same export; a read past the end is refused.
    expect(
      (await client.diskExportBegin({ exportId: ready.id, vmId, diskName: "root" })).export,
    ).toEqual(ready);
    expect(
      await reasonOf(
        client.diskExportRead({ exportId: ready.id, offset: BigInt(disk.length + 1), length: 1 }),
      ),
    ).toBe(ErrorReason.INVALID_SPEC);
    // Ended while its checksum runs: no export is left behind.
    const ending = await client.diskExportBegin({ exportId: "exp-ended", vmId, diskName: "root" });
    await client.diskExportEnd({ exportId: "exp-ended" });
    await done(ending.task);
    expect(
      (await client.diskExportBegin({ exportId: "exp-ended", vmId, diskName: "root" })).export,
    ).toBeUndefined();
    await client.diskExportEnd({ exportId: "exp-ended" });
    await client.diskExportEnd({ exportId: ready.id });
    expect(
      await reasonOf(client.diskExportRead({ exportId: ready.id, offset: 0n, length: 1 })),
    ).toBe(ErrorReason.NOT_FOUND);
  });

  it("answers CONFLICT to reads once the disk changed since the export began", async () => {
    const raw = join(work, "changing.raw");
    writeFileSync(raw, rawDisk(2));
    const changing = await vmWithDisk(
      await putVmdk(onDatastore, raw, "raw", dir, "changing"),
      2 << 20,
    );
    const ready = await exportDisk("exp-changing", changing);
    expect(
      (await client.diskExportRead({ exportId: ready.id, offset: 0n, length: 512 })).chunk?.offset,
    ).toBe(0n);
    // Last-Modified has a resolution of a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const other = rawDisk(2);
    await uploadDatastoreFile(
      inspector,
      file(`${dir}/changing-flat.vmdk`),
      () => other,
      other.length,
    );
    const read = client.diskExportRead({ exportId: ready.id, offset: 0n, length: 512 });
    expect(await reasonOf(read)).toBe(ErrorReason.CONFLICT);
    await client.diskExportEnd({ exportId: ready.id });
  });

  it("refuses a VM that is on or has snapshots (CONFLICT), and a streamOptimized disk (UNSUPPORTED)", async () => {
    await done((await client.power({ vmId, operation: PowerOperation.ON })).task);
    try {
      expect(
        await reasonOf(client.diskExportBegin({ exportId: "on", vmId, diskName: "root" })),
      ).toBe(ErrorReason.CONFLICT);
    } finally {
      await done((await client.power({ vmId, operation: PowerOperation.OFF })).task);
    }
    const { task: snapshotting } = await client.snapshotCreate({ vmId, name: "before" });
    await done(snapshotting);
    const { snapshots } = await client.snapshotList({ vmId });
    try {
      const withSnapshot = client.diskExportBegin({ exportId: "snap", vmId, diskName: "root" });
      await expect(withSnapshot).rejects.toThrow(/has snapshots/);
    } finally {
      await done((await client.snapshotDelete({ vmId, snapshotId: snapshots[0]!.id })).task);
    }
    const raw = join(work, "tiny.raw");
    writeFileSync(raw, rawDisk(1));
    const stream = await vmWithDisk(
      await putVmdk(onDatastore, raw, "raw", dir, "stream", "streamOptimized"),
      1 << 20,
    );
    const refused = client.diskExportBegin({ exportId: "stream", vmId: stream, diskName: "root" });
    await expect(refused).rejects.toThrow(/createType is streamOptimized/);
    expect(await reasonOf(refused)).toBe(ErrorReason.UNSUPPORTED);
  });
});

describe("import", () => {
  const disk = rawDisk(9);
  const id = "imp/one?#&%";

  it("refuses a corrupted chunk with DATA_LOSS and keeps nothing of it", async () => {
    await client.diskImportBegin({
      importId: id,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(disk.length),
      sha256: sha256(disk),
    });
    const bytes = disk.subarray(0, 1 << 20);
    const corrupt = Buffer.from(bytes);
    corrupt[100] = corrupt[100]! ^ 0xff;
    expect(
      await reasonOf(
        client.diskImportWrite({
          importId: id,
          chunk: { offset: 0n, content: { case: "data", value: corrupt }, sha256: sha256(bytes) },
        }),
      ),
    ).toBe(ErrorReason.DATA_LOSS);
    const { import: held } = await client.diskImportBegin({
      importId: id,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(disk.length),
      sha256: sha256(disk),
    });
    expect(held?.receivedBytes).toBe(0n);
  });

  it("resumes from the durable prefix after the provider restarts, and stores the disk byte for byte", async () => {
    const half = 4 << 20;
    expect(await writeImport(id, disk, 0, half)).toBe(BigInt(half));
    await stopProvider(running[0]!);
    client = (await startProvider()).client;
    const { import: held } = await client.diskImportBegin({
      importId: id,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(disk.length),
      sha256: sha256(disk),
    });
    expect(held?.receivedBytes).toBe(BigInt(half));
    expect(await writeImport(id, disk, Number(held?.receivedBytes))).toBe(BigInt(disk.length));

    const committed = await commit(id);
    expect(committed.import?.committed).toBe(true);
    expect(committed.disk?.source).toEqual({ case: "importedDisk", value: id });
    const directory = "virtrigaud-imports/imp%2Fone%3F%23%26%25";
    expect((await download(`${directory}/disk-flat.vmdk`)).equals(disk)).toBe(true);
    const descriptor = parseVmdkDescriptor(
      (await download(`${directory}/disk.vmdk`)).toString("utf8"),
    );
    expect(descriptor && flatExtentOf(descriptor)).toEqual({
      ok: true,
      file: "disk-flat.vmdk",
      sizeBytes: disk.length,
    });
  });

  it("writes the import's record at checkpoints, not per chunk, even for chunks out of order", async () => {
    const importId = "imp-checkpoints";
    const data = rawDisk(72);
    await client.diskImportBegin({
      importId,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(data.length),
      sha256: sha256(data),
    });
    const recordFile = join(staging, "imports", importId, "import.json");
    const recorded = () => JSON.parse(readFileSync(recordFile, "utf8")) as { received: number };
    // Every write of the record replaces the file (written aside, renamed): a new inode. Each
    // one seen is held open, so that no later record is given its number again.
    const held: number[] = [];
    const inodes = new Set<number>();
    const see = () => {
      const { ino } = statSync(recordFile);
      if (!inodes.has(ino)) held.push(openSync(recordFile, "r"));
      inodes.add(ino);
    };
    see();
    const chunk = 2 << 20;
    // Pairs of chunks swapped: each second one lands ahead of the prefix.
    const order = Array.from({ length: data.length / chunk }, (_, i) => i ^ 1);
    let reported = 0n;
    for (const [n, i] of order.entries()) {
      reported = await writeImport(importId, data, i * chunk, (i + 1) * chunk);
      see();
      // What a restart finds is durable, never ahead of what the writes reported.
      expect(recorded().received).toBeLessThanOrEqual(Number(reported));
      if (n === 33) expect([reported, recorded().received]).toEqual([BigInt(68 << 20), 64 << 20]);
    }
    expect(reported).toBe(BigInt(data.length));
    expect(recorded().received).toBe(data.length);
    // Begin; dirtyEnd raised before the first bytes and past 64 MiB; the 64 MiB checkpoint; the end.
    for (const fd of held) closeSync(fd);
    expect(inodes.size).toBe(5);
    await client.diskImportAbort({ importId });
  });

  it("finds a whole file that differs from its declared SHA-256 at commit (DATA_LOSS), to be written again", async () => {
    const other = "imp-mismatch";
    const declared = rawDisk(2);
    const sent = Buffer.from(declared);
    sent[5] = sent[5]! ^ 1;
    await client.diskImportBegin({
      importId: other,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(declared.length),
      sha256: sha256(declared),
    });
    await writeImport(other, sent);
    const { task } = await client.diskImportCommit({ importId: other });
    await expect(done(task)).rejects.toThrow(/does not match its SHA-256/);
    const { import: again } = await client.diskImportBegin({
      importId: other,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(declared.length),
      sha256: sha256(declared),
    });
    expect(again?.receivedBytes).toBe(0n);
    await writeImport(other, declared);
    expect((await commit(other)).import?.committed).toBe(true);
    await client.diskImportAbort({ importId: other });
    expect(
      await statDatastoreFile(inspector, file("virtrigaud-imports/imp-mismatch/disk.vmdk")),
    ).toBeUndefined();
  });

  it("detaches an imported disk before removing the VM of a failed Create, and frees the import", async () => {
    const data = rawDisk(1);
    const importId = "imp-fail";
    await client.diskImportBegin({
      importId,
      format: ImageFormat.RAW,
      sizeBytes: BigInt(data.length),
      sha256: sha256(data),
    });
    await writeImport(importId, data);
    await commit(importId);
    // Fault injection: the Create's first ReconfigVM_Task (growing the disk) fails; the disks
    // each VM has when it is destroyed are noted (vCenter's Destroy_Task deletes them).
    const real = vcsimClient();
    const destroyedWith: string[][] = [];
    let failed = false;
    const call: VimClient["call"] = async (method, self, args, options) => {
      if (method === "ReconfigVM_Task" && !failed) {
        failed = true;
        throw new Error("injected failure");
      }
      if (method === "Destroy_Task") {
        const devices = devicesOf(await retrieveOne(real, self, ["config.hardware.device"]));
        destroyedWith.push(
          devices.flatMap((d) =>
            d._type === "VirtualDisk" ? [(d.backing as { fileName: string }).fileName] : [],
          ),
        );
      }
      return real.call(method, self, args, options);
    };
    const faulty = new Proxy(real, {
      get: (target, property, receiver): unknown =>
        property === "call" ? call : Reflect.get(target, property, receiver),
    });
    const provider = createVsphereProvider({
      client: faulty,
      defaults: { cluster: "DC0_C0", datastore },
      diskStagingDir: staging,
    });
    const server = await startTestServer(provider);
    try {
      const { task } = await server.client.create({
        name: uniqueName("fails"),
        class: { cpu: 1, memoryMib: 512 },
        image: { source: { case: "importedDisk", value: importId } },
        rootDiskSizeGib: 1,
      });
      await expect(server.client.waitForTask(task, { timeoutMs: 60_000 })).rejects.toThrow(
        /failed/,
      );
    } finally {
      await server.close();
      await provider.close();
    }
    expect(destroyedWith).toEqual([[]]);
    // Nobody's again: an abort removes it.
    await client.diskImportAbort({ importId });
    expect(
      await statDatastoreFile(inspector, file("virtrigaud-imports/imp-fail/disk-flat.vmdk")),
    ).toBeUndefined();
  });

  it("makes a VM of imported disks, root and data, as asked, without a copy, and removes them with the VM", async () => {
    const data = rawDisk(1);
    await client.diskImportBegin({
      importId: "imp-data",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(data.length),
      sha256: sha256(data),
    });
    await writeImport("imp-data", data);
    await commit("imp-data");
    const { vmId, task } = await client.create({
      name: uniqueName("imported"),
      class: { cpu: 2, memoryMib: 2048 },
      image: { source: { case: "importedDisk", value: id } },
      disks: [
        {
          name: "data",
          sizeGib: 1,
          source: { source: { case: "importedDisk", value: "imp-data" } },
        },
      ],
      networks: [
        { network: "VM Network", type: NetworkType.PORT_GROUP },
        { network: "DC0_DVPG0", type: NetworkType.DISTRIBUTED_PORT_GROUP },
      ],
    });
    await done(task);
    const { vm } = await client.describe({ vmId });
    expect(vm?.resources).toMatchObject({ cpu: 2, memoryMib: 2048 });
    expect(vm?.resources?.networkInterfaces.map((n) => n.network)).toEqual([
      "VM Network",
      "DC0_DVPG0",
    ]);
    const { disks } = await client.describeDisks({ vmId });
    expect(disks.map((d) => [d.name, d.location, d.capacityBytes])).toEqual([
      [
        "root",
        `[${datastore}] virtrigaud-imports/imp%2Fone%3F%23%26%25/disk.vmdk`,
        BigInt(disk.length),
      ],
      // Grown from 1 MiB to the size asked.
      ["data", `[${datastore}] virtrigaud-imports/imp-data/disk.vmdk`, BigInt(1 << 30)],
    ]);
    // Another VM cannot take them.
    expect(
      await reasonOf(
        client.create({
          name: uniqueName("thief"),
          class: { cpu: 1, memoryMib: 512 },
          image: { source: { case: "importedDisk", value: id } },
        }),
      ),
    ).toBe(ErrorReason.CONFLICT);
    // Adopted: an abort leaves it to the VM.
    await client.diskImportAbort({ importId: id });
    const flat = file("virtrigaud-imports/imp%2Fone%3F%23%26%25/disk-flat.vmdk");
    expect((await statDatastoreFile(inspector, flat))?.size).toBe(disk.length);

    await done((await client.delete({ vmId })).task);
    expect(await statDatastoreFile(inspector, flat)).toBeUndefined();
    expect(
      await statDatastoreFile(inspector, file("virtrigaud-imports/imp-data/disk.vmdk")),
    ).toBeUndefined();
    expect(await reasonOf(client.diskImportCommit({ importId: id }))).toBe(ErrorReason.NOT_FOUND);
    expect(await reasonOf(client.diskImportCommit({ importId: "imp-data" }))).toBe(
      ErrorReason.NOT_FOUND,
    );
  });
});

describe("the Debian guest image", () => {
  it("exports as the bytes qemu-img converts it to", async () => {
    const image = execFileSync(join(process.cwd(), "../../tools/guest-image/build.sh"), [
      "--no-build",
    ])
      .toString()
      .trim();
    const raw = join(work, "guest.raw");
    execFileSync("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, raw]);
    const size = statSync(raw).size;
    const expected = await fileSha256(raw);
    rmSync(raw);
    const vmId = await vmWithDisk(
      await putVmdk(onDatastore, image, "qcow2", uniqueName("guest"), "debian-12"),
      size,
    );
    const { disks } = await client.describeDisks({ vmId });
    expect(disks[0]?.capacityBytes).toBe(BigInt(size));
    const ready = await exportDisk("guest", vmId);
    expect(ready.sha256).toBe(expected);
    const read = await readExport(ready);
    expect(read.sha256).toBe(expected);
    await client.diskExportEnd({ exportId: "guest" });
  }, 600_000);
});
