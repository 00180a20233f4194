import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { type DiskChunk, DiskChunkSchema, ProviderError } from "@virtrigaud/contracts";

/** The largest chunk a read returns or a write takes: 2 MiB. */
export const maxChunkBytes = 2 * 1024 * 1024;

const zeros = Buffer.alloc(maxChunkBytes);
const zeroDigests = new Map<number, string>();

/** SHA-256 of `data`, as 64 hexadecimal digits. */
function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** SHA-256 of `length` zero bytes (at most a chunk), computed once per length. */
export function zeroSha256(length: number): string {
  let digest = zeroDigests.get(length);
  if (digest === undefined) {
    digest = sha256Hex(zeros.subarray(0, length));
    // Chunks are mostly of one size; the table stays small.
    if (zeroDigests.size < 64) zeroDigests.set(length, digest);
  }
  return digest;
}

/** Whether a chunk's bytes (at most a chunk) are all zero. */
export function isAllZero(data: Buffer): boolean {
  return data.length <= maxChunkBytes && data.equals(zeros.subarray(0, data.length));
}

/** The chunk of a read: its bytes, or zero_length when they are all zero. */
export function chunkOf(offset: number, data: Buffer): DiskChunk {
  if (data.length > 0 && isAllZero(data)) {
    return create(DiskChunkSchema, {
      offset: BigInt(offset),
      content: { case: "zeroLength", value: BigInt(data.length) },
      sha256: zeroSha256(data.length),
    });
  }
  return create(DiskChunkSchema, {
    offset: BigInt(offset),
    content: { case: "data", value: data },
    sha256: sha256Hex(data),
  });
}

/** A chunk to write, checked: its bytes (undefined for zeros) and where they go. */
export interface CheckedChunk {
  offset: number;
  length: number;
  /** The bytes; undefined for a range of zeros, which is left as a hole. */
  data: Buffer | undefined;
}

/**
 * Checks a chunk before anything of it is written: within the file, at most
 * a chunk long, and its bytes matching its checksum.
 *
 * @throws ProviderError INVALID_SPEC naming the field for a chunk out of
 * bounds or too long; DATA_LOSS when the bytes do not match the checksum.
 */
export function checkChunk(chunk: DiskChunk, sizeBytes: number): CheckedChunk {
  const offset = Number(chunk.offset);
  const content = chunk.content;
  let length: number;
  let data: Buffer | undefined;
  if (content.case === "data") {
    data = Buffer.from(content.value.buffer, content.value.byteOffset, content.value.byteLength);
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
  const actual = data ? sha256Hex(data) : zeroSha256(length);
  if (actual !== chunk.sha256.toLowerCase()) {
    throw ProviderError.dataLoss(
      `the chunk at ${offset} does not match its checksum (its bytes hash to ${actual}); nothing of it was written`,
    );
  }
  // All-zero data is left as a hole too: the staging file holds zeros there already.
  return { offset, length, data: data && !isAllZero(data) ? data : undefined };
}
