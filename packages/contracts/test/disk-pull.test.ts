import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { readFileSync, rmSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { DiskExportSchema, type DiskShare, ErrorReason, ImageFormat } from "@virtrigaud/proto";
import { ProviderError, createLogger, pullDisk, serveProvider } from "../src/index.js";
import { createProviderClient } from "../src/client/index.js";
import { sha256Hex } from "../src/disks/chunks.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";
import {
  type InMemoryDiskProvider,
  createInMemoryDiskProvider,
} from "./in-memory-disk-provider.js";

const MiB = 1024 * 1024;

/** Data, a range of zeros a whole read long (2 to 4 MiB), more data, and a short tail. */
function sampleFile(): Uint8Array {
  const bytes = new Uint8Array(7 * MiB + 12_345);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 17) & 0xff;
  bytes.fill(0, 2 * MiB, 4 * MiB);
  return bytes;
}

const file = sampleFile();
const ranges = Math.ceil(file.length / (2 * MiB));

describe("DiskImportPull from an export shared by DiskExportShare", () => {
  let source: InMemoryDiskProvider;
  let target: InMemoryDiskProvider;
  let sourceServer: TestServer;
  let targetServer: TestServer;

  beforeEach(async () => {
    source = createInMemoryDiskProvider();
    target = createInMemoryDiskProvider();
    source.exports.set("exp-1", file);
    sourceServer = await startTestServer(source.provider, {
      serve: { transferListen: "127.0.0.1:0" },
    });
    targetServer = await startTestServer(target.provider);
  });
  afterEach(async () => {
    await sourceServer.close();
    await targetServer.close();
  });

  const share = async (ttlSeconds = 0): Promise<DiskShare> => {
    const { share } = await sourceServer.client.diskExportShare({ exportId: "exp-1", ttlSeconds });
    if (!share) throw new Error("no share");
    return share;
  };
  const begin = () =>
    targetServer.client.diskImportBegin({
      importId: "imp-1",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(file.length),
      sha256: sha256Hex(file),
    });
  /** Pulls from `offset` and waits for the task; its error, if it failed. */
  const pull = async (from: DiskShare, offset = 0) => {
    const { task } = await targetServer.client.diskImportPull({
      importId: "imp-1",
      source: from,
      offset: BigInt(offset),
      sizeBytes: BigInt(file.length),
    });
    if (!task) throw new Error("no task");
    return targetServer.client.waitForTask(task, { pollIntervalMs: 10 }).then(
      () => undefined,
      (e: unknown) => ProviderError.from(e),
    );
  };

  it("declares what each server offers: sharing only with a transfer listener, pulling with imports", () => {
    expect(sourceServer.server.capabilities).toMatchObject({
      diskExportShare: true,
      diskImportPull: true,
    });
    expect(targetServer.server.capabilities).toMatchObject({
      diskExportShare: false,
      diskImportPull: true,
    });
    expect(sourceServer.server.transferUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("moves the file provider to provider, each range read once, the bytes the same", async () => {
    const shared = await share();
    expect(shared.url).toBe(`${sourceServer.server.transferUrl}/v1/exports/exp-1`);
    expect(shared.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Number(shared.expireTime?.seconds) * 1000).toBeGreaterThan(Date.now() + 3500_000);
    await begin();
    const readsBefore = source.reads();
    expect(await pull(shared)).toBeUndefined();
    // One read per range, and none of the zeros' bytes on the wire.
    expect(source.reads() - readsBefore).toBe(ranges);
    expect(target.receivedBytes()).toBe(file.length);
    const { import: committed } = await targetServer.client.diskImportCommit({ importId: "imp-1" });
    expect(committed?.committed).toBe(true);
    expect(Buffer.from(target.imports.get("imp-1")?.bytes ?? []).equals(Buffer.from(file))).toBe(
      true,
    );
  });

  it("reads a range that arrives damaged again, and the file arrives whole", async () => {
    source.corruptReads.set(4 * MiB, 2);
    const shared = await share();
    await begin();
    const readsBefore = source.reads();
    expect(await pull(shared)).toBeUndefined();
    expect(source.reads() - readsBefore).toBe(ranges + 2);
    await expect(
      targetServer.client.diskImportCommit({ importId: "imp-1" }),
    ).resolves.toMatchObject({ import: { committed: true } });
  });

  it("gives up on a range that stays damaged, with DATA_LOSS", async () => {
    source.corruptReads.set(6 * MiB, 5);
    const shared = await share();
    await begin();
    const error = await pull(shared);
    expect(error?.reason).toBe(ErrorReason.DATA_LOSS);
  });

  it("resumes from an offset: only the ranges after it are read", async () => {
    const shared = await share();
    await begin();
    // The first 4 MiB arrive some other way first.
    for (const offset of [0, 2 * MiB]) {
      const { chunk } = await sourceServer.client.diskExportRead({
        exportId: "exp-1",
        offset: BigInt(offset),
        length: 2 * MiB,
      });
      await targetServer.client.diskImportWrite({ importId: "imp-1", chunk });
    }
    const readsBefore = source.reads();
    expect(await pull(shared, 4 * MiB)).toBeUndefined();
    expect(source.reads() - readsBefore).toBe(ranges - 2);
    await expect(
      targetServer.client.diskImportCommit({ importId: "imp-1" }),
    ).resolves.toMatchObject({ import: { committed: true } });
  });

  it("answers the same task to a second pull of the import while the first runs", async () => {
    const shared = await share();
    await begin();
    const request = {
      importId: "imp-1",
      source: shared,
      offset: 0n,
      sizeBytes: BigInt(file.length),
    };
    const [a, b] = await Promise.all([
      targetServer.client.diskImportPull(request),
      targetServer.client.diskImportPull(request),
    ]);
    expect(a.task?.id).toMatch(/^virtrigaud-pull-/);
    expect(b.task?.id).toBe(a.task?.id);
    await targetServer.client.waitForTask(a.task, { pollIntervalMs: 10 });
  });

  it("refuses a wrong ticket, writing nothing", async () => {
    const shared = await share();
    await begin();
    const error = await pull({ ...shared, ticket: "A".repeat(43) });
    expect(error?.reason).toBe(ErrorReason.UNAUTHENTICATED);
    expect(error?.message).toMatch(/no valid ticket for export "exp-1"/);
    expect(target.receivedBytes()).toBe(0);
  });

  it("refuses a ticket of another export, and a reader without one, over plain HTTP", async () => {
    source.exports.set("exp-2", file);
    const { share: other } = await sourceServer.client.diskExportShare({ exportId: "exp-2" });
    const shared = await share();
    const url = `${shared.url}?offset=0&length=1024`;
    const without = await fetch(url);
    expect(without.status).toBe(401);
    expect(without.headers.get("virtrigaud-error-reason")).toBe("UNAUTHENTICATED");
    const crossed = await fetch(url, { headers: { authorization: `Bearer ${other?.ticket}` } });
    expect(crossed.status).toBe(401);
    const right = await fetch(url, { headers: { authorization: `Bearer ${shared.ticket}` } });
    expect(right.status).toBe(200);
    expect(right.headers.get("virtrigaud-sha256")).toBe(sha256Hex(file.subarray(0, 1024)));
    expect(Buffer.from(await right.arrayBuffer()).equals(Buffer.from(file.subarray(0, 1024)))).toBe(
      true,
    );
    const tooLong = await fetch(`${shared.url}?offset=0&length=${4 * MiB}`, {
      headers: { authorization: `Bearer ${shared.ticket}` },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.headers.get("virtrigaud-error-field")).toBe("length");
    expect(await tooLong.text()).toBe("must be a whole number up to 2097152");
  });

  it("ends the tickets with DiskExportEnd, and when they expire", async () => {
    const ended = await share();
    const expiring = await share(1);
    await sourceServer.client.diskExportEnd({ exportId: "exp-1" });
    const read = (s: DiskShare) =>
      fetch(`${s.url}?offset=0&length=16`, { headers: { authorization: `Bearer ${s.ticket}` } });
    expect((await read(ended)).status).toBe(401);
    const fresh = await share(1);
    expect((await read(fresh)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await read(fresh)).status).toBe(401);
    expect((await read(expiring)).status).toBe(401);
  });

  it("pullDisk: begins, pulls, follows the task and commits, resuming what the target holds", async () => {
    const exported = create(DiskExportSchema, {
      id: "exp-1",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(file.length),
      sha256: sha256Hex(file),
    });
    // A first attempt that left the first range behind.
    await begin();
    const { chunk } = await sourceServer.client.diskExportRead({
      exportId: "exp-1",
      offset: 0n,
      length: 2 * MiB,
    });
    await targetServer.client.diskImportWrite({ importId: "imp-1", chunk });
    const progress: number[] = [];
    const result = await pullDisk({
      source: sourceServer.client,
      target: targetServer.client,
      export: exported,
      importId: "imp-1",
      pollIntervalMs: 5,
      onProgress: (p) => progress.push(p.doneBytes),
    });
    expect(result).toMatchObject({
      import: { committed: true },
      disk: { source: { case: "importedDisk", value: "imp-1" } },
      resumedFromBytes: 2 * MiB,
      writtenBytes: file.length - 2 * MiB,
    });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((b) => b <= file.length)).toBe(true);
    // Committed already: a second call only commits again.
    const readsBefore = source.reads();
    await expect(
      pullDisk({
        source: sourceServer.client,
        target: targetServer.client,
        export: exported,
        importId: "imp-1",
      }),
    ).resolves.toMatchObject({ import: { committed: true } });
    expect(source.reads()).toBe(readsBefore);
  });

  it("serves a provider that answers plain objects of the messages' shape", async () => {
    const plain = createInMemoryDiskProvider();
    plain.exports.set("exp-1", file);
    const read = plain.provider.diskExportRead?.bind(plain.provider);
    plain.provider.diskExportRead = async (request, ctx) => {
      const { chunk } = (await read?.(request, ctx)) ?? {};
      const content = chunk?.content;
      // No $typeName, and the offset left out where it is 0.
      return {
        chunk: {
          ...(chunk?.offset ? { offset: chunk.offset } : {}),
          content:
            content?.case === "data"
              ? { case: "data", value: content.value }
              : (content ?? { case: undefined }),
          sha256: chunk?.sha256 ?? "",
        },
      };
    };
    const server = await startTestServer(plain.provider, {
      serve: { transferListen: "127.0.0.1:0" },
    });
    try {
      const { share } = await server.client.diskExportShare({ exportId: "exp-1" });
      const answer = await fetch(`${share?.url}?offset=0&length=1024`, {
        headers: { authorization: `Bearer ${share?.ticket}` },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("virtrigaud-offset")).toBe("0");
      expect(answer.headers.get("virtrigaud-sha256")).toBe(sha256Hex(file.subarray(0, 1024)));
    } finally {
      await server.close();
    }
  });

  it("shares only an export that is there", async () => {
    const error = await sourceServer.client
      .diskExportShare({ exportId: "nope" })
      .catch((e: unknown) => ProviderError.from(e));
    expect(error).toMatchObject({ reason: ErrorReason.NOT_FOUND });
  });

  it("answers UNSUPPORTED for sharing where no transfer listener runs", async () => {
    target.exports.set("exp-1", file);
    const error = await targetServer.client
      .diskExportShare({ exportId: "exp-1" })
      .catch((e: unknown) => ProviderError.from(e));
    expect(error).toMatchObject({ reason: ErrorReason.UNSUPPORTED });
  });
});

describe("DiskImportPull over TLS", () => {
  let pki: TestCertificates;
  const quiet = {
    logger: createLogger({ level: "silent" }),
    handleSignals: false,
    opsListen: false as const,
  };
  beforeAll(() => {
    pki = createTestCertificates();
  });
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  it("reads a source whose certificate the given CA signs, and refuses a plaintext URL", async () => {
    const source = createInMemoryDiskProvider();
    const target = createInMemoryDiskProvider();
    source.exports.set("exp-1", file);
    const tls = { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert };
    const sourceServer = await serveProvider(source.provider, {
      ...quiet,
      listen: "127.0.0.1:0",
      transferListen: "127.0.0.1:0",
      tls,
    });
    const targetServer = await serveProvider(target.provider, {
      ...quiet,
      listen: "127.0.0.1:0",
      tls,
    });
    const clientTls = { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey };
    const sourceClient = createProviderClient(sourceServer.url, { tls: clientTls, retry: false });
    const targetClient = createProviderClient(targetServer.url, { tls: clientTls, retry: false });
    try {
      // The transfer port asks for no client certificate: the ticket is the credential.
      expect(sourceServer.transferUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const { share } = await sourceClient.diskExportShare({ exportId: "exp-1" });
      if (!share) throw new Error("no share");
      await targetClient.diskImportBegin({
        importId: "imp-1",
        format: ImageFormat.RAW,
        sizeBytes: BigInt(file.length),
        sha256: sha256Hex(file),
      });
      const request = {
        importId: "imp-1",
        source: share,
        sourceCaPem: readFileSync(pki.caCert, "utf8"),
        sizeBytes: BigInt(file.length),
      };
      const { task } = await targetClient.diskImportPull(request);
      await targetClient.waitForTask(task, { pollIntervalMs: 10 });
      await expect(targetClient.diskImportCommit({ importId: "imp-1" })).resolves.toMatchObject({
        import: { committed: true },
      });
      // Without the CA the source's certificate is not trusted.
      await targetClient.diskImportAbort({ importId: "imp-1" });
      await targetClient.diskImportBegin({
        importId: "imp-2",
        format: ImageFormat.RAW,
        sizeBytes: BigInt(file.length),
        sha256: sha256Hex(file),
      });
      const untrusted = await targetClient.diskImportPull({
        ...request,
        importId: "imp-2",
        sourceCaPem: "",
      });
      const failed = await targetClient
        .waitForTask(untrusted.task, { pollIntervalMs: 10 })
        .catch((e: unknown) => ProviderError.from(e));
      expect(failed).toMatchObject({ reason: ErrorReason.UNAVAILABLE });
      // A TLS target reads no plaintext URL.
      const plain = await targetClient.diskImportPull({
        ...request,
        importId: "imp-2",
        source: { ...share, url: share.url.replace("https:", "http:") },
      });
      const refused = await targetClient
        .waitForTask(plain.task, { pollIntervalMs: 10 })
        .catch((e: unknown) => ProviderError.from(e));
      expect(refused).toMatchObject({ reason: ErrorReason.INVALID_SPEC, field: "source.url" });
    } finally {
      sourceClient.close();
      targetClient.close();
      await sourceServer.close();
      await targetServer.close();
    }
  });
});
