import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, readdir, rm, stat } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ErrorReason, ImageFormat, PowerState } from "@virtrigaud/contracts";
import { type ProviderClient, createProviderClient } from "@virtrigaud/contracts/client";
import type { TestServer } from "@virtrigaud/contracts/testing";
import type { HostTransport } from "../src/host/host-transport.js";
import { parseDomainXml } from "../src/xml/parse-domain.js";
import { commitImport, copyExport, readyExport } from "./disk-transfer.js";
import { removeDomains, testbed, virsh } from "./testbed.js";
import { blankImage, done, errorOf, startProviderBinary, useProvider } from "./use-provider.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const transfers = () => `${testbed().poolDir}/.virtrigaud-transfers`;

let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;
let client: ProviderClient;
/** The source VM, off, whose 1 GiB root disk holds 4 MiB of random bytes and holes. */
let sourceVm = "";
/** SHA-256 of the source's root disk as raw bytes (1 GiB). */
let rawDigest = "";

/** A sparse raw image: random bytes at 0 (3 MiB) and at 100 MiB (1 MiB), 256 MiB long. */
async function sparseImage(path: string): Promise<Buffer> {
  const bytes = Buffer.alloc(256 * MiB);
  randomBytes(3 * MiB).copy(bytes, 0);
  randomBytes(MiB).copy(bytes, 100 * MiB);
  const file = await open(path, "w");
  await file.write(bytes, 0, 3 * MiB, 0);
  await file.write(bytes, 100 * MiB, MiB, 100 * MiB);
  await file.truncate(256 * MiB);
  await file.close();
  return bytes;
}

/** SHA-256 of `bytes` followed by zeros up to `length`. */
function digestPadded(bytes: Buffer, length: number): string {
  const hash = createHash("sha256").update(bytes);
  const zeros = Buffer.alloc(8 * MiB);
  for (let at = bytes.length; at < length; at += zeros.length) {
    hash.update(zeros.subarray(0, Math.min(zeros.length, length - at)));
  }
  return hash.digest("hex");
}

async function transferFiles(): Promise<string[]> {
  return existsSync(transfers()) ? (await readdir(transfers())).sort() : [];
}

async function createVm(request: Parameters<ProviderClient["create"]>[0]): Promise<string> {
  const { vmId, task } = await client.create(request);
  await done(test, task);
  return vmId;
}

/** Removes what an earlier run left: its domains, their files, imports and staging files. */
async function removeLeftovers(): Promise<void> {
  await removeDomains("xfer-");
  await rm(transfers(), { recursive: true, force: true });
  for (const name of existsSync(testbed().poolDir) ? await readdir(testbed().poolDir) : []) {
    if (/^(xfer-|imported-)/.test(name)) await rm(`${testbed().poolDir}/${name}`, { force: true });
  }
  await virsh("pool-refresh", "--pool", "vrtg-test-pool").catch(() => "");
}

beforeAll(async () => {
  await removeLeftovers();
  provider = await useProvider();
  test = provider.test;
  client = test.client;
  const dir = `${testbed().dir}/images`;
  await mkdir(dir, { recursive: true });
  const bytes = await sparseImage(`${dir}/xfer-base.raw`);
  rawDigest = digestPadded(bytes, GiB);
  sourceVm = await createVm({
    name: "xfer-src",
    class: { cpu: 1, memoryMib: 128 },
    image: { source: { case: "path", value: `${dir}/xfer-base.raw` } },
  });
});

afterAll(async () => {
  await provider?.close();
  await removeLeftovers();
});

describe("disk export and import", () => {
  it("describes a VM's disks: format, capacity, allocation, location, boot disk first", async () => {
    const { disks } = await client.describeDisks({ vmId: sourceVm });
    expect(disks.map((d) => [d.name, d.format, d.capacityBytes, d.index])).toEqual([
      ["root", ImageFormat.QCOW2, BigInt(GiB), 0],
    ]);
    expect(disks[0]?.location).toBe(`${testbed().poolDir}/xfer-src-root.qcow2`);
    expect(Number(disks[0]?.allocatedBytes)).toBeLessThan(64 * MiB);
  });

  it("moves a disk and back: export, import under another id, a VM made from it, export again: the same SHA-256", async () => {
    const exported = await readyExport(client, {
      exportId: "rt-raw",
      vmId: sourceVm,
      diskName: "root",
      format: ImageFormat.RAW,
    });
    expect([exported.sizeBytes, exported.capacityBytes, exported.sha256]).toEqual([
      BigInt(GiB),
      BigInt(GiB),
      rawDigest,
    ]);
    // Begin again finds the same export.
    expect(
      (
        await client.diskExportBegin({
          exportId: "rt-raw",
          vmId: sourceVm,
          diskName: "root",
          format: ImageFormat.RAW,
        })
      ).export,
    ).toEqual(exported);

    const copy = await copyExport(client, client, exported, "rt-import");
    expect(copy.disk?.source).toEqual({ case: "importedDisk", value: "rt-import" });
    // Holes travel as zero_length: 4 MiB of data is at most 3 chunks.
    expect(copy.dataChunks).toBeLessThanOrEqual(3);
    // The imported raw volume stays sparse.
    const volume = `${testbed().poolDir}/imported-rt-import.raw`;
    const { size, blocks } = await stat(volume);
    expect(size).toBe(GiB);
    expect(blocks * 512).toBeLessThan(16 * MiB);
    expect(await virsh("vol-list", "--pool", "vrtg-test-pool")).toContain("imported-rt-import.raw");

    // A qcow2 export of the same disk, imported too, becomes a data disk.
    const qcow2 = await readyExport(client, {
      exportId: "rt-qcow2",
      vmId: sourceVm,
      diskName: "root",
      format: ImageFormat.QCOW2,
    });
    expect(qcow2.format).toBe(ImageFormat.QCOW2);
    expect(qcow2.capacityBytes).toBe(BigInt(GiB));
    await copyExport(client, client, qcow2, "rt-import-q");

    const copied = await createVm({
      name: "xfer-copy",
      class: { cpu: 1, memoryMib: 128 },
      image: copy.disk,
      rootDiskSizeGib: 1,
      disks: [
        {
          name: "data",
          sizeGib: 2,
          source: { source: { case: "importedDisk", value: "rt-import-q" } },
        },
      ],
    });
    // Adopted without a copy: the import's volume is the VM's disk now.
    expect(existsSync(volume)).toBe(false);
    const { disks } = await client.describeDisks({ vmId: copied });
    expect(disks.map((d) => [d.name, d.format, d.capacityBytes, d.location])).toEqual([
      ["root", ImageFormat.RAW, BigInt(GiB), `${testbed().poolDir}/xfer-copy-root.raw`],
      // Grown to the 2 GiB asked for.
      [
        "data",
        ImageFormat.QCOW2,
        BigInt(2 * GiB),
        `${testbed().poolDir}/xfer-copy-disk-data.qcow2`,
      ],
    ]);
    const again = await readyExport(client, {
      exportId: "rt-again",
      vmId: copied,
      diskName: "root",
      format: ImageFormat.RAW,
    });
    expect(again.sha256).toBe(rawDigest);
    // An adopted import is the VM's: no second VM takes it, Abort leaves the disk.
    const taken = await errorOf(
      client.create({
        name: "xfer-twice",
        class: { cpu: 1, memoryMib: 128 },
        image: { source: { case: "importedDisk", value: "rt-import" } },
      }),
    );
    expect([taken.reason, taken.field]).toEqual([ErrorReason.INVALID_SPEC, "image.imported_disk"]);
    await client.diskImportAbort({ importId: "rt-import" });
    expect(existsSync(`${testbed().poolDir}/xfer-copy-root.raw`)).toBe(true);

    for (const id of ["rt-raw", "rt-qcow2", "rt-again"])
      await client.diskExportEnd({ exportId: id });
    await client.diskImportAbort({ importId: "rt-import-q" });
    expect(await transferFiles()).toEqual([]);
    // Delete removes the adopted disks as it removes disks it made.
    await done(test, (await client.delete({ vmId: copied })).task);
    expect(existsSync(`${testbed().poolDir}/xfer-copy-root.raw`)).toBe(false);
    expect(existsSync(`${testbed().poolDir}/xfer-copy-disk-data.qcow2`)).toBe(false);
  });

  it("refuses a corrupted chunk with DATA_LOSS and writes nothing of it", async () => {
    const digest = createHash("sha256")
      .update(Buffer.alloc(4 * MiB))
      .digest("hex");
    await client.diskImportBegin({
      importId: "corrupt",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(4 * MiB),
      sha256: digest,
    });
    const data = randomBytes(MiB);
    const sha256 = createHash("sha256").update(data).digest("hex");
    data[12345] = (data[12345] ?? 0) ^ 0xff;
    const refused = await errorOf(
      client.diskImportWrite({
        importId: "corrupt",
        chunk: { offset: BigInt(MiB), content: { case: "data", value: data }, sha256 },
      }),
    );
    expect(refused.reason).toBe(ErrorReason.DATA_LOSS);
    const staging = `${transfers()}/import-corrupt.data`;
    expect((await stat(staging)).blocks).toBe(0);
    expect((await readFile(staging)).equals(Buffer.alloc(4 * MiB))).toBe(true);
    await client.diskImportAbort({ importId: "corrupt" });
    expect(await transferFiles()).toEqual([]);
  });

  it("checks the whole file at commit: another SHA-256 is DATA_LOSS and the import stays writable", async () => {
    const wanted = randomBytes(MiB);
    const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    await client.diskImportBegin({
      importId: "wrong-sum",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(MiB),
      sha256: sha256(wanted),
    });
    const other = randomBytes(MiB);
    await client.diskImportWrite({
      importId: "wrong-sum",
      chunk: { content: { case: "data", value: other }, sha256: sha256(other) },
    });
    expect((await errorOf(commitImport(client, "wrong-sum"))).reason).toBe(ErrorReason.DATA_LOSS);
    // Said again at once, until a write changes the file.
    expect((await errorOf(client.diskImportCommit({ importId: "wrong-sum" }))).reason).toBe(
      ErrorReason.DATA_LOSS,
    );
    await client.diskImportWrite({
      importId: "wrong-sum",
      chunk: { content: { case: "data", value: wanted }, sha256: sha256(wanted) },
    });
    expect((await commitImport(client, "wrong-sum"))?.source.case).toBe("importedDisk");
    // Abort of a committed import no VM adopted removes its volume.
    expect(existsSync(`${testbed().poolDir}/imported-wrong-sum.raw`)).toBe(true);
    await client.diskImportAbort({ importId: "wrong-sum" });
    expect(existsSync(`${testbed().poolDir}/imported-wrong-sum.raw`)).toBe(false);
    expect(await transferFiles()).toEqual([]);
  });

  it("refuses Create with an unknown or uncommitted import, naming the field", async () => {
    const unknown = await errorOf(
      client.create({
        name: "xfer-none",
        class: { cpu: 1, memoryMib: 128 },
        image: { source: { case: "importedDisk", value: "no-such-import" } },
      }),
    );
    expect([unknown.reason, unknown.field]).toEqual([
      ErrorReason.INVALID_SPEC,
      "image.imported_disk",
    ]);
    await client.diskImportBegin({
      importId: "open",
      format: ImageFormat.RAW,
      sizeBytes: 512n,
      sha256: "0".repeat(64),
    });
    const open = await errorOf(
      client.create({
        name: "xfer-none",
        class: { cpu: 1, memoryMib: 128 },
        disks: [
          { name: "data", sizeGib: 1, source: { source: { case: "importedDisk", value: "open" } } },
        ],
      }),
    );
    expect([open.reason, open.field]).toEqual([
      ErrorReason.INVALID_SPEC,
      "disks[0].source.imported_disk",
    ]);
    await client.diskImportAbort({ importId: "open" });
  });

  it("refuses to export a running VM's disk with CONFLICT", async () => {
    const running = await createVm({
      name: "xfer-running",
      class: { cpu: 1, memoryMib: 128 },
      image: { source: { case: "path", value: await blankImage("xfer-running", 16) } },
      powerOn: true,
    });
    expect((await client.describe({ vmId: running })).vm?.powerState).toBe(PowerState.ON);
    const refused = await errorOf(
      client.diskExportBegin({ exportId: "hot", vmId: running, diskName: "root" }),
    );
    expect(refused.reason).toBe(ErrorReason.CONFLICT);
    expect(await transferFiles()).toEqual([]);
  });

  it("keeps ids with shell and XML metacharacters as data, and refuses ids the contract does not allow", async () => {
    const id = `x';touch\${IFS}/tmp/vrtg-pwned;'<a>&"$(id)\`/../`;
    const exported = await readyExport(client, {
      exportId: id,
      vmId: sourceVm,
      diskName: "root",
      format: ImageFormat.RAW,
    });
    expect(exported.id).toBe(id);
    const copy = await copyExport(client, client, exported, id, { concurrency: 8 });
    expect(copy.disk?.source).toEqual({ case: "importedDisk", value: id });
    // Named after the escaped id: letters, digits, '_', '-', '%XX' (and '~' before a digest).
    const files = await transferFiles();
    expect(files).toHaveLength(3);
    for (const f of files) expect(f).toMatch(/^(export|import)-[A-Za-z0-9_%~-]+\.(data|json)$/);
    const vm = await createVm({
      name: "xfer-meta",
      class: { cpu: 1, memoryMib: 128 },
      image: copy.disk,
    });
    expect(parseDomainXml(await virsh("dumpxml", "--domain", vm)).owner?.image).toBe(
      `imported:${id}`,
    );
    expect(existsSync("/tmp/vrtg-pwned")).toBe(false);
    await client.diskExportEnd({ exportId: id });
    await client.diskImportAbort({ importId: id });
    expect(await transferFiles()).toEqual([]);
    const spaced = await errorOf(
      client.diskImportBegin({
        importId: "a b",
        format: ImageFormat.RAW,
        sizeBytes: 1n,
        sha256: "0".repeat(64),
      }),
    );
    expect([spaced.reason, spaced.field]).toEqual([ErrorReason.INVALID_SPEC, "import_id"]);
  });
});

describe("the commit's check", () => {
  /** A provider whose shells on the host are watched: every command line it writes to them. */
  async function watchedProvider() {
    const lines: string[] = [];
    const watch = (transport: HostTransport): HostTransport => ({
      ...transport,
      description: transport.description,
      async openShell(signal) {
        const pipes = await transport.openShell(signal);
        const write = pipes.stdin.write.bind(pipes.stdin) as (...args: unknown[]) => boolean;
        pipes.stdin.write = ((chunk: unknown, ...rest: unknown[]) => {
          lines.push(String(chunk));
          return write(chunk, ...rest);
        }) as typeof pipes.stdin.write;
        return pipes;
      },
    });
    return { lines, provider: await useProvider({}, {}, { wrapTransport: watch }) };
  }
  const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  const write = (c: ProviderClient, importId: string, offset: number, data: Buffer) =>
    c.diskImportWrite({
      importId,
      chunk: { offset: BigInt(offset), content: { case: "data", value: data }, sha256: sha(data) },
    });
  /** The commands that hash a file on the host (see fileSha256Command). */
  const fileHashes = (lines: string[]) => lines.filter((l) => l.includes("dgst -sha256"));

  it("takes the digest from the writes when every byte came once; reads the file back when a range came again", async () => {
    const { lines, provider: watched } = await watchedProvider();
    try {
      const c = watched.test.client;
      const original = randomBytes(6 * MiB);
      const withHole = Buffer.from(original).fill(0, 2 * MiB, 3 * MiB);
      for (const [id, file] of [
        ["digest-other", original],
        ["digest-same", withHole],
      ] as const) {
        await c.diskImportBegin({
          importId: id,
          format: ImageFormat.RAW,
          sizeBytes: BigInt(file.length),
          sha256: sha(file),
        });
        // Out of order, as chunks in flight finish, with a range of zeros left a hole.
        await write(c, id, 4 * MiB, withHole.subarray(4 * MiB));
        await c.diskImportWrite({
          importId: id,
          chunk: {
            offset: BigInt(2 * MiB),
            content: { case: "zeroLength", value: BigInt(MiB) },
            sha256: sha(Buffer.alloc(MiB)),
          },
        });
        await write(c, id, 3 * MiB, withHole.subarray(3 * MiB, 4 * MiB));
        await write(c, id, 0, withHole.subarray(0, 2 * MiB));
      }
      expect((await commitImport(c, "digest-same"))?.source.case).toBe("importedDisk");
      expect(sha(await readFile(`${testbed().poolDir}/imported-digest-same.raw`))).toBe(
        sha(withHole),
      );
      // Declared with other bytes where the hole is: the writes' digest tells.
      expect((await errorOf(commitImport(c, "digest-other"))).reason).toBe(ErrorReason.DATA_LOSS);
      expect(fileHashes(lines)).toEqual([]);

      // Those bytes written over the hole: the file, not the writes, is hashed now.
      await write(c, "digest-other", 2 * MiB, original.subarray(2 * MiB, 3 * MiB));
      expect((await commitImport(c, "digest-other"))?.source.case).toBe("importedDisk");
      expect(fileHashes(lines)).toHaveLength(1);
      for (const id of ["digest-other", "digest-same"]) await c.diskImportAbort({ importId: id });
    } finally {
      await watched.close();
    }
    expect(await transferFiles()).toEqual([]);
  });
});

describe("resuming an import", () => {
  it("reports the durable prefix on Begin again, also after the provider restarted or was killed", async () => {
    const exported = await readyExport(client, {
      exportId: "resume",
      vmId: sourceVm,
      diskName: "root",
      format: ImageFormat.RAW,
    });
    // Stopped once the target reports the first 64 MiB checkpoint (what it reports is its record).
    const cut = await copyExport(client, client, exported, "resume", { until: 64 * MiB });
    const begin = () =>
      client.diskImportBegin({
        importId: "resume",
        format: ImageFormat.RAW,
        sizeBytes: exported.sizeBytes,
        sha256: exported.sha256,
      });
    // The prefix recorded at a checkpoint (64 MiB and on), nothing past what was sent.
    const first = Number((await begin()).import?.receivedBytes);
    expect(first).toBeGreaterThanOrEqual(64 * MiB);
    expect(first).toBeLessThanOrEqual(cut.readEnd);

    // A provider process that starts again knows the prefix from the record on the host.
    await provider.close();
    const killed = await startProviderBinary();
    const remote = createProviderClient(killed.url);
    /** How far the second copy read before it stopped. */
    const sent = await (async () => {
      try {
        const resumed = await remote.diskImportBegin({
          importId: "resume",
          format: ImageFormat.RAW,
          sizeBytes: exported.sizeBytes,
          sha256: exported.sha256,
        });
        expect(resumed.import?.receivedBytes).toBe(BigInt(first));
        const more = await copyExport(remote, remote, exported, "resume", {
          until: first + 64 * MiB,
        });
        // Killed mid-transfer: what it recorded is what counts.
        await killed.stop("SIGKILL");
        return more.readEnd;
      } finally {
        remote.close();
      }
    })();
    provider = await useProvider();
    test = provider.test;
    client = test.client;
    const received = Number((await begin()).import?.receivedBytes);
    // One more checkpoint (64 MiB on) before the kill, nothing past what was written.
    expect(received).toBeGreaterThanOrEqual(first + 64 * MiB);
    expect(received).toBeLessThanOrEqual(sent);
    const rest = await copyExport(client, client, exported, "resume");
    expect(rest.reads).toBe((GiB - received) / (2 * MiB));
    expect(rest.disk?.source).toEqual({ case: "importedDisk", value: "resume" });
    await client.diskExportEnd({ exportId: "resume" });
    await client.diskImportAbort({ importId: "resume" });
    expect(await transferFiles()).toEqual([]);
  });
});
