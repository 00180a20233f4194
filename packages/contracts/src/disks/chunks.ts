import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { type DiskChunk, DiskChunkSchema } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";

/** The most a DiskExportRead returns and a DiskImportWrite takes, by the contract: 2 MiB. */
export const maxChunkBytes = 2 * 1024 * 1024;

/** Zeros to compare and hash against, made when first needed. */
let zeros: Buffer | undefined;
const zeroBlock = (): Buffer => (zeros ??= Buffer.alloc(maxChunkBytes));

/** Hashes of zero ranges by length: a disk's zero chunks are mostly one length. */
const zeroHashes = new Map<number, string>();
const zeroHashesKept = 16;

/** SHA-256 of `bytes`, as 64 lowercase hexadecimal digits (the contract's form). */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * SHA-256 of a whole file, read as a stream (a disk is never held in memory),
 * in the contract's form: what DiskExport.sha256 and DiskImportBegin's
 * sha256 carry.
 */
export async function fileSha256(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const piece of createReadStream(path, { highWaterMark: 4 << 20, signal })) {
    hash.update(piece as Buffer);
  }
  return hash.digest("hex");
}

/** SHA-256 of `length` zero bytes, as a DiskChunk with zero_length carries it. */
export function zeroRangeSha256(length: number): string {
  const known = zeroHashes.get(length);
  if (known !== undefined) return known;
  const block = zeroBlock();
  const hash = createHash("sha256");
  for (let left = length; left > 0; left -= block.length) {
    hash.update(left >= block.length ? block : block.subarray(0, left));
  }
  const digest = hash.digest("hex");
  if (zeroHashes.size >= zeroHashesKept) zeroHashes.clear();
  zeroHashes.set(length, digest);
  return digest;
}

/** Whether every byte of `bytes` (at most a chunk) is zero. */
export function isAllZero(bytes: Uint8Array): boolean {
  if (bytes.length > maxChunkBytes) return false;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.equals(zeroBlock().subarray(0, view.length));
}

/**
 * The chunk of the bytes read at `offset`, with its SHA-256: a zero_length
 * range when they are all zero (a sparse disk stays sparse on the wire).
 */
export function chunkOf(offset: number, bytes: Uint8Array): DiskChunk {
  if (bytes.length > 0 && isAllZero(bytes)) {
    return create(DiskChunkSchema, {
      offset: BigInt(offset),
      content: { case: "zeroLength", value: BigInt(bytes.length) },
      sha256: zeroRangeSha256(bytes.length),
    });
  }
  return create(DiskChunkSchema, {
    offset: BigInt(offset),
    content: { case: "data", value: bytes },
    sha256: sha256Hex(bytes),
  });
}

/** A received chunk, checked: where it goes, and its bytes unless they are all zero. */
export interface CheckedChunk {
  offset: number;
  length: number;
  /** The bytes; undefined for a range of zeros (zero_length, or data that is all zero). */
  data: Uint8Array | undefined;
}

/**
 * Checks a chunk before anything of it is written: within the file of
 * `sizeBytes`, at most 2 MiB, and its bytes matching its SHA-256.
 *
 * @throws ProviderError INVALID_SPEC naming the field for a chunk out of the
 * file, too long or without content; DATA_LOSS when its bytes do not match
 * its SHA-256 (nothing of it should be kept).
 */
export function checkChunk(chunk: DiskChunk | undefined, sizeBytes: number): CheckedChunk {
  if (!chunk) throw ProviderError.invalidSpec("chunk", "is required");
  const offset = Number(chunk.offset);
  const { content } = chunk;
  let length: number;
  let data: Uint8Array | undefined;
  if (content.case === "data") {
    data = content.value;
    length = data.length;
  } else if (content.case === "zeroLength") {
    length = Number(content.value);
  } else {
    throw ProviderError.invalidSpec("chunk.content", "is required: data or zero_length");
  }
  if (length > maxChunkBytes) {
    throw ProviderError.invalidSpec(
      content.case === "data" ? "chunk.data" : "chunk.zero_length",
      `is ${length} bytes; a chunk holds at most ${maxChunkBytes}`,
    );
  }
  if (offset + length > sizeBytes) {
    throw ProviderError.invalidSpec(
      "chunk.offset",
      `the range ${offset}+${length} ends past the file's ${sizeBytes} bytes`,
    );
  }
  const actual = data ? sha256Hex(data) : zeroRangeSha256(length);
  if (actual !== chunk.sha256.toLowerCase()) {
    throw ProviderError.dataLoss(
      `the chunk at ${offset} (${length} bytes) does not match its SHA-256; nothing of it was kept`,
    );
  }
  return { offset, length, data: data && !isAllZero(data) ? data : undefined };
}
