import type { DiskChunk } from "@virtrigaud/proto";
import { ErrorReason } from "@virtrigaud/proto";
import type { ProviderError } from "../errors/provider-error.js";
import { sha256Hex, zeroRangeSha256 } from "./chunks.js";

/**
 * The decisions of a disk copy, apart from the calls that carry them out:
 * which range to move next, whether a chunk that arrived is the one asked
 * for, what to do when a chunk fails, and where the target's durable prefix
 * stands. Offsets are numbers: exact up to 8 PiB, far beyond any disk.
 */

/** A range of a file: `length` bytes from `offset`. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** The range after `cursor` of at most `chunkBytes`, or undefined at the end of the file. */
export function nextRange(
  cursor: number,
  sizeBytes: number,
  chunkBytes: number,
): ByteRange | undefined {
  if (cursor >= sizeBytes) return undefined;
  return { offset: cursor, length: Math.min(chunkBytes, sizeBytes - cursor) };
}

/**
 * Why a chunk that arrived for `range` cannot be passed on, or undefined
 * when it is the range asked for and its bytes match its SHA-256. A short
 * chunk is refused too: nothing is skipped silently.
 */
export function chunkProblem(range: ByteRange, chunk: DiskChunk | undefined): string | undefined {
  if (!chunk) return "the read returned no chunk";
  if (chunk.offset !== BigInt(range.offset)) {
    return `the chunk starts at ${chunk.offset}, not at ${range.offset}`;
  }
  const { content } = chunk;
  if (content.case === undefined) return "the chunk carries neither data nor zero_length";
  const length = content.case === "data" ? content.value.length : Number(content.value);
  if (length !== range.length) return `the chunk holds ${length} bytes, not ${range.length}`;
  const actual = content.case === "data" ? sha256Hex(content.value) : zeroRangeSha256(length);
  if (actual !== chunk.sha256.toLowerCase()) return "the chunk's bytes do not match its sha256";
  return undefined;
}

/** What to do after a chunk failed on its `attempt`-th try (counting from 1). */
export type AfterChunkFailure = "reread" | "fail";

/**
 * A damaged chunk (DATA_LOSS: it arrived damaged, or the target refused it
 * as damaged) is read again from the source and sent again, up to
 * `maxAttempts` tries in all. Anything else fails the copy: the client has
 * already retried what is transient, and the caller resumes from the
 * target's durable prefix.
 */
export function afterChunkFailure(
  error: ProviderError,
  attempt: number,
  maxAttempts: number,
): AfterChunkFailure {
  return error.reason === ErrorReason.DATA_LOSS && attempt < maxAttempts ? "reread" : "fail";
}

/**
 * What to do when every range up to the end has been written: commit when
 * the target holds the whole file durably; otherwise write again from what
 * it holds (a target may keep only a prefix of what it acknowledged), for
 * at most `maxPasses` passes in all.
 */
export function afterPass(
  receivedBytes: number,
  sizeBytes: number,
  pass: number,
  maxPasses: number,
): "commit" | "write-again" | "fail" {
  if (receivedBytes >= sizeBytes) return "commit";
  return pass < maxPasses ? "write-again" : "fail";
}
