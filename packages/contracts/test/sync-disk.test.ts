import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { DiskExportSchema, ErrorReason, ImageFormat } from "@virtrigaud/proto";
import { ProviderError, copyDiskForSync, syncDisk } from "../src/index.js";
import { syncChunks } from "../src/disks/sync-disk.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import {
  type InMemoryDiskProvider,
  createInMemoryDiskProvider,
} from "./in-memory-disk-provider.js";

const KiB = 1024;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

it("cuts changed ranges into chunks, each knowing where it sits among the changed bytes", () => {
  expect(
    syncChunks(
      [
        { offset: 0, length: 5 },
        { offset: 100, length: 12 },
      ],
      4,
    ),
  ).toEqual([
    { offset: 0, length: 4, position: 0 },
    { offset: 4, length: 1, position: 4 },
    { offset: 100, length: 4, position: 5 },
    { offset: 104, length: 4, position: 9 },
    { offset: 108, length: 4, position: 13 },
  ]);
});

describe("a final sync between two served providers", () => {
  let source: InMemoryDiskProvider;
  let target: InMemoryDiskProvider;
  let sourceServer: TestServer;
  let targetServer: TestServer;
  // The disk at the snapshot, then as it is at cutover: two ranges changed, one to zeros.
  const then = new Uint8Array(512 * KiB).map((_, i) => (i * 13 + 1) & 0xff);
  const now = then.slice();
  now.fill(0xaa, 100 * KiB, 164 * KiB);
  now.fill(0, 300 * KiB, 304 * KiB);
  const atSnapshot = create(DiskExportSchema, {
    id: "at-snap",
    format: ImageFormat.RAW,
    sizeBytes: BigInt(then.length),
    sha256: sha256(then),
  });
  const changes = (ranges: Array<[number, number]>) =>
    create(DiskExportSchema, {
      id: "now",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(now.length),
      sha256: sha256(now),
      changedRanges: ranges.map(([offset, length]) => ({
        offset: BigInt(offset),
        length: BigInt(length),
      })),
    });
  const changed = changes([
    [100 * KiB, 64 * KiB],
    [300 * KiB, 4 * KiB],
  ]);

  beforeEach(async () => {
    source = createInMemoryDiskProvider();
    target = createInMemoryDiskProvider();
    source.exports.set("at-snap", then);
    source.exports.set("now", now);
    sourceServer = await startTestServer(source.provider);
    targetServer = await startTestServer(target.provider);
    const held = await copyDiskForSync({
      source: sourceServer.client,
      target: targetServer.client,
      export: atSnapshot,
      importId: "imp",
    });
    expect(held.import.committed).toBe(false);
    expect(held.import.receivedBytes).toBe(BigInt(then.length));
  });
  afterEach(async () => {
    await sourceServer.close();
    await targetServer.close();
  });

  it("writes only the changed ranges, then commits under the SHA-256 of the disk now", async () => {
    const written: number[] = [];
    const result = await syncDisk({
      source: sourceServer.client,
      target: targetServer.client,
      export: changed,
      importId: "imp",
      chunkBytes: 32 * KiB,
      onProgress: (p) => written.push(p.doneBytes),
    });
    expect(result.import.committed).toBe(true);
    expect(result.changedBytes).toBe(68 * KiB);
    expect(result.writtenBytes).toBe(68 * KiB);
    expect(Buffer.from(target.imports.get("imp")?.bytes ?? []).equals(Buffer.from(now))).toBe(true);
    expect(Math.max(...written)).toBe(68 * KiB);
  });

  it("resumes after the bytes an earlier run reported done", async () => {
    // The first range was written by a run that stopped.
    target.imports.get("imp")?.bytes.set(now.subarray(100 * KiB, 164 * KiB), 100 * KiB);
    const result = await syncDisk({
      source: sourceServer.client,
      target: targetServer.client,
      export: changed,
      importId: "imp",
      resumeFromBytes: 64 * KiB,
    });
    expect(result.writtenBytes).toBe(4 * KiB);
    expect(result.import.committed).toBe(true);
  });

  it("fails the commit when a change is missing from the ranges: the whole disk is checked", async () => {
    const error = await syncDisk({
      source: sourceServer.client,
      target: targetServer.client,
      export: changes([[100 * KiB, 64 * KiB]]),
      importId: "imp",
    }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.DATA_LOSS)).toBe(true);
  });
});
