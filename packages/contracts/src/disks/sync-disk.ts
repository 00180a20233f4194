import type { DiskExport, DiskImport, ImageSource } from "@virtrigaud/proto";
import { callerAbortError } from "../abort.js";
import type { ProviderClient } from "../client/create-provider-client.js";
import { type Clock, systemClock } from "../clock.js";
import { ProviderError } from "../errors/provider-error.js";
import { runPool } from "./work-pool.js";
import { type ByteRange, afterChunkFailure, chunkProblem } from "./chunk-plan.js";
import { maxChunkBytes } from "./chunks.js";
import { type Ranges, addRange, contiguousPrefix } from "./received-ranges.js";

/** Where a sync stands, reported after every chunk the target accepted. */
export interface SyncDiskProgress {
  /**
   * The bytes of the changed ranges, taken in order, that the target has
   * accepted without a gap: persist it, a sync that stops resumes from here.
   */
  readonly doneBytes: number;
  /** The bytes of every changed range. */
  readonly totalBytes: number;
  /** Bytes the target accepted in this run, chunks sent again included. */
  readonly writtenBytes: number;
  /** `writtenBytes` per second since this run began. */
  readonly bytesPerSecond: number;
}

/** Options of `syncDisk`. */
export interface SyncDiskOptions {
  /** A client of the provider that made the export. Only diskExportRead is called. */
  source: Pick<ProviderClient, "diskExportRead">;
  /** A client of the provider holding the import; it declares disk_import_rewrites. */
  target: Pick<ProviderClient, "diskImportWrite" | "diskImportCommit" | "waitForTask">;
  /**
   * The export of the disk as it is now, made with
   * changed_since_snapshot_id: its changed_ranges are what is written.
   */
  export: DiskExport;
  /** The import that holds the whole disk as it was at that snapshot, uncommitted. */
  importId: string;
  /** `doneBytes` an earlier run reported: the ranges up to there are not written again. Default: 0. */
  resumeFromBytes?: number;
  /** Bytes per read and write, at most 2 MiB. Default: 2 MiB. */
  chunkBytes?: number;
  /** Chunks in flight at once. Default: 4. */
  concurrency?: number;
  /** Tries of one chunk in all when it arrives damaged or is refused as damaged. Default: 3. */
  maxChunkAttempts?: number;
  /** Called after every chunk the target accepted. */
  onProgress?: (progress: SyncDiskProgress) => void;
  /** Stops the sync: calls in flight are cancelled and it rejects with CANCELED. */
  signal?: AbortSignal;
  clock?: Clock;
}

/** What a finished sync did. */
export interface SyncDiskResult {
  /** The committed import, checked against the export's SHA-256. */
  import: DiskImport;
  /** How to name the disk in CreateRequest.image or DiskSpec.source. */
  disk: ImageSource;
  /** The bytes of every changed range. */
  changedBytes: number;
  /** Bytes the target accepted in this run, chunks sent again included. */
  writtenBytes: number;
  /** Chunks read and sent again because they arrived or were refused damaged. */
  resentChunks: number;
}

/** A chunk of the sync: a range of the file, and where it sits among the changed bytes. */
interface SyncChunk extends ByteRange {
  /** The changed bytes before it, counting the ranges in order. */
  readonly position: number;
}

/** The changed ranges cut into chunks of at most `chunkBytes`, each with its position. */
export function syncChunks(ranges: readonly ByteRange[], chunkBytes: number): SyncChunk[] {
  const chunks: SyncChunk[] = [];
  let position = 0;
  for (const range of ranges) {
    for (let at = 0; at < range.length; at += chunkBytes) {
      const length = Math.min(chunkBytes, range.length - at);
      chunks.push({ offset: range.offset + at, length, position });
      position += length;
    }
  }
  return chunks;
}

/**
 * Brings an import up to date with the disk as it is now: the final sync of
 * a live migration. The import holds the whole disk as it was at a
 * snapshot (copied by `copyDiskForSync`); the export lists
 * the ranges that changed since that snapshot, and only those are read and
 * written (each chunk's SHA-256 checked on the way, a damaged one read
 * again), `concurrency` at a time. Then DiskImportCommit with the export's
 * SHA-256, the whole disk's as it is now, which the target checks against
 * the whole file it holds.
 *
 * @throws ProviderError CANCELED when `signal` aborts; DATA_LOSS when a
 * chunk stays damaged after its tries or the whole-file check fails;
 * INVALID_SPEC for options out of range; NOT_FOUND when the target no
 * longer holds the import; otherwise the failing call's error.
 */
export async function syncDisk(options: SyncDiskOptions): Promise<SyncDiskResult> {
  const chunkBytes = options.chunkBytes ?? maxChunkBytes;
  const concurrency = options.concurrency ?? 4;
  const maxAttempts = options.maxChunkAttempts ?? 3;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > maxChunkBytes)
    throw ProviderError.invalidSpec(
      "chunkBytes",
      `must be a whole number from 1 to ${maxChunkBytes}`,
    );
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw ProviderError.invalidSpec("concurrency", "must be a whole number of at least 1");
  const ranges = options.export.changedRanges.map((r) => ({
    offset: Number(r.offset),
    length: Number(r.length),
  }));
  const chunks = syncChunks(ranges, chunkBytes);
  const totalBytes = ranges.reduce((n, r) => n + r.length, 0);
  const resumeFrom = options.resumeFromBytes ?? 0;
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  let done: Ranges = resumeFrom > 0 ? [[0, resumeFrom]] : [];
  let writtenBytes = 0;
  let resentChunks = 0;

  const writeChunk = async (chunk: SyncChunk) => {
    const signal = stop.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        const { chunk: read } = await options.source.diskExportRead(
          { exportId: options.export.id, offset: BigInt(chunk.offset), length: chunk.length },
          { signal },
        );
        const problem = chunkProblem(chunk, read);
        if (problem || !read)
          throw ProviderError.dataLoss(
            `export ${options.export.id} at ${chunk.offset}: ${problem ?? "no chunk"}`,
          );
        await options.target.diskImportWrite(
          { importId: options.importId, chunk: read },
          { signal },
        );
        writtenBytes += chunk.length;
        done = addRange(done, chunk.position, chunk.position + chunk.length);
        const seconds = Math.max(clock.now() - startedAt, 1) / 1000;
        options.onProgress?.({
          doneBytes: contiguousPrefix(done),
          totalBytes,
          writtenBytes,
          bytesPerSecond: writtenBytes / seconds,
        });
        return;
      } catch (thrown) {
        const error = ProviderError.from(thrown);
        if (signal.aborted || afterChunkFailure(error, attempt, maxAttempts) === "fail")
          throw error;
        resentChunks++;
      }
    }
  };

  try {
    const pending = chunks.filter((c) => c.position + c.length > resumeFrom);
    let next = 0;
    const failed = await runPool(concurrency, stop, () => pending[next++], writeChunk);
    options.signal?.throwIfAborted();
    if (failed) throw failed;
    const request = { importId: options.importId, sha256: options.export.sha256 };
    let answer = await options.target.diskImportCommit(request, { signal: stop.signal });
    if (answer.task) {
      await options.target.waitForTask(answer.task, { signal: stop.signal });
      answer = await options.target.diskImportCommit(request, { signal: stop.signal });
    }
    if (!answer.import?.committed || !answer.disk)
      throw ProviderError.internal(`DiskImportCommit left import ${options.importId} uncommitted`);
    return {
      import: answer.import,
      disk: answer.disk,
      changedBytes: totalBytes,
      writtenBytes,
      resentChunks,
    };
  } catch (thrown) {
    throw options.signal?.aborted ? callerAbortError(options.signal) : ProviderError.from(thrown);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}
