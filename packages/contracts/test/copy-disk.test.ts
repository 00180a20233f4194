import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { DiskExportSchema, ErrorReason, ImageFormat } from "@virtrigaud/proto";
import { type CopyDiskProgress, ProviderError, copyDisk } from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { contiguousPrefix } from "../src/disks/received-ranges.js";
import {
  type InMemoryDiskProvider,
  createInMemoryDiskProvider,
} from "./in-memory-disk-provider.js";

const KiB = 1024;

/** A file with data, a run of zeros and a tail shorter than a chunk. */
function sampleFile(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  bytes.fill(0, 64 * KiB, 192 * KiB);
  return bytes;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("copyDisk between two served providers", () => {
  let source: InMemoryDiskProvider;
  let target: InMemoryDiskProvider;
  let sourceServer: TestServer;
  let targetServer: TestServer;
  const file = sampleFile(1000 * KiB + 123);
  const exported = create(DiskExportSchema, {
    id: "exp-1",
    format: ImageFormat.RAW,
    sizeBytes: BigInt(file.length),
    sha256: sha256(file),
  });

  beforeEach(async () => {
    source = createInMemoryDiskProvider();
    target = createInMemoryDiskProvider();
    source.exports.set("exp-1", file);
    sourceServer = await startTestServer(source.provider);
    targetServer = await startTestServer(target.provider);
  });
  afterEach(async () => {
    await sourceServer.close();
    await targetServer.close();
  });

  const copy = (extra: Partial<Parameters<typeof copyDisk>[0]> = {}) =>
    copyDisk({
      source: sourceServer.client,
      target: targetServer.client,
      export: exported,
      importId: "imp-1",
      chunkBytes: 64 * KiB,
      concurrency: 3,
      ...extra,
    });

  it("copies every byte, reports progress up to the whole file and commits", async () => {
    const progress: CopyDiskProgress[] = [];
    const result = await copy({ onProgress: (p) => progress.push(p) });

    expect(result.disk.source).toEqual({ case: "importedDisk", value: "imp-1" });
    expect(result.import.committed).toBe(true);
    expect(result.resumedFromBytes).toBe(0);
    expect(result.writtenBytes).toBe(file.length);
    expect(Buffer.from(target.imports.get("imp-1")?.bytes ?? []).equals(file)).toBe(true);
    expect(progress).toHaveLength(Math.ceil(file.length / (64 * KiB)));
    expect(progress.at(-1)).toMatchObject({ verifiedBytes: file.length, totalBytes: file.length });
    expect(progress.every((p) => p.bytesPerSecond > 0)).toBe(true);
    const verified = progress.map((p) => p.verifiedBytes);
    expect(verified).toEqual([...verified].sort((a, b) => a - b));
  });

  it("reads again a chunk that arrives damaged, and the file arrives whole", async () => {
    source.corruptReads.set(256 * KiB, 1);
    const result = await copy();
    expect(result.resentChunks).toBe(1);
    expect(source.reads()).toBe(Math.ceil(file.length / (64 * KiB)) + 1);
    expect(sha256(target.imports.get("imp-1")?.bytes ?? new Uint8Array())).toBe(exported.sha256);
  });

  it("sends again a chunk the target refuses with DATA_LOSS", async () => {
    target.refuseWrites.set(128 * KiB, 2);
    const result = await copy();
    expect(result.resentChunks).toBe(2);
    expect(result.import.committed).toBe(true);
  });

  it("fails with DATA_LOSS when a chunk stays damaged after its tries, sending nothing of it", async () => {
    source.corruptReads.set(0, 5);
    const failure = await copy({ maxChunkAttempts: 2 }).catch((e: unknown) => e);
    expect(ProviderError.is(failure, ErrorReason.DATA_LOSS)).toBe(true);
    expect(String(failure)).toMatch(/at 0: the chunk's bytes do not match/);
    expect(contiguousPrefix(target.imports.get("imp-1")?.written ?? [])).toBe(0);
    expect(target.imports.get("imp-1")?.committed).toBe(false);
  });

  it("resumes after an abort midway from the target's durable prefix", async () => {
    const stop = new AbortController();
    const half = file.length / 2;
    const first = await copy({
      signal: stop.signal,
      onProgress: (p) => {
        if (p.verifiedBytes >= half) stop.abort();
      },
    }).catch((e: unknown) => e);
    expect(ProviderError.is(first, ErrorReason.CANCELED)).toBe(true);
    const receivedBeforeResume = target.receivedBytes();
    expect(receivedBeforeResume).toBeLessThan(file.length);

    const second = await copy();
    expect(second.resumedFromBytes).toBeGreaterThanOrEqual(half);
    expect(second.writtenBytes).toBe(file.length - second.resumedFromBytes);
    expect(second.import.committed).toBe(true);
    // Sent twice: what the target received beyond the prefix it kept, at most the chunks in flight.
    const sentTwice = target.receivedBytes() - file.length;
    expect(sentTwice).toBe(receivedBeforeResume - second.resumedFromBytes);
    expect(sentTwice).toBeLessThanOrEqual(3 * 64 * KiB);
  });

  it("commits at once an import that is already committed", async () => {
    await copy();
    const readsAfterFirst = source.reads();
    const again = await copy();
    expect(again.writtenBytes).toBe(0);
    expect(source.reads()).toBe(readsAfterFirst);
    expect(again.import.committed).toBe(true);
  });

  it("follows the task of a commit whose check runs long, then commits again", async () => {
    target.commitRunsAsTask.value = true;
    const result = await copy();
    expect(result.import.committed).toBe(true);
    expect(target.commits()).toBe(2);
  });

  it("rejects when the target's whole-file check fails", async () => {
    const lying = create(DiskExportSchema, { ...exported, sha256: "0".repeat(64) });
    const failure = await copy({ export: lying }).catch((e: unknown) => e);
    expect(ProviderError.is(failure, ErrorReason.DATA_LOSS)).toBe(true);
    expect(String(failure)).toMatch(/does not match its sha256/);
  });

  it("refuses chunks beyond the contract's 2 MiB and a concurrency below 1", async () => {
    await expect(copy({ chunkBytes: 2 * 1024 * KiB + 1 })).rejects.toThrow(/chunkBytes/);
    await expect(copy({ concurrency: 0 })).rejects.toThrow(/concurrency/);
  });

  it("holds at most the chunks in flight: reads never run ahead of writes", async () => {
    let inFlight = 0;
    let most = 0;
    const counting = {
      diskExportRead: async (...args: Parameters<typeof sourceServer.client.diskExportRead>) => {
        inFlight++;
        most = Math.max(most, inFlight);
        return sourceServer.client.diskExportRead(...args);
      },
    };
    const result = await copy({
      source: counting,
      onProgress: () => {
        inFlight--;
      },
    });
    expect(result.import.committed).toBe(true);
    expect(most).toBeLessThanOrEqual(3);
  });
});
