import { createHash } from "node:crypto";
import { type DiskChunk, ProviderError } from "@virtrigaud/contracts";

/** The most a chunk carries: 2 MiB, the contract's limit on a read. */
const maxChunkBytes = 2 * 1024 * 1024;

const zeros = Buffer.alloc(maxChunkBytes);
const zeroHashes = new Map<number, string>();

/** SHA-256 of `data` as 64 hexadecimal digits. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** SHA-256 of `length` zero bytes (at most a chunk's), remembered per length. */
export function zeroSha256(length: number): string {
  let hash = zeroHashes.get(length);
  if (!hash) {
    hash = sha256Hex(zeros.subarray(0, length));
    if (zeroHashes.size < 64) zeroHashes.set(length, hash);
  }
  return hash;
}

/** `length` zero bytes, shared: never write into it. */
export function zeroBytes(length: number): Buffer {
  return zeros.subarray(0, length);
}

/** True when every byte of `data` is zero. */
function isAllZero(data: Uint8Array): boolean {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return buf.length <= zeros.length ? buf.equals(zeros.subarray(0, buf.length)) : false;
}

/** The chunk of the bytes read at `offset`: a zero_length range when they are all zero. */
export function chunkOf(offset: number, data: Uint8Array): Omit<DiskChunk, "$typeName"> {
  if (data.length > 0 && isAllZero(data)) {
    return {
      offset: BigInt(offset),
      content: { case: "zeroLength", value: BigInt(data.length) },
      sha256: zeroSha256(data.length),
    };
  }
  return {
    offset: BigInt(offset),
    content: { case: "data", value: data },
    sha256: sha256Hex(data),
  };
}

/** A chunk checked against its checksum: where it goes, and its bytes unless it is zeros. */
export interface CheckedChunk {
  offset: number;
  length: number;
  /** Undefined for a zero range. */
  data: Uint8Array | undefined;
}

/**
 * Checks a received chunk: within the file of `sizeBytes`, at most 2 MiB, and
 * its bytes match its SHA-256.
 *
 * @throws ProviderError INVALID_SPEC for a chunk out of the file or too large,
 * DATA_LOSS when its bytes do not match its checksum.
 */
export function checkChunk(chunk: DiskChunk | undefined, sizeBytes: number): CheckedChunk {
  if (!chunk) throw ProviderError.invalidSpec("chunk", "a chunk is required");
  const offset = Number(chunk.offset);
  const { content } = chunk;
  const length =
    content.case === "data"
      ? content.value.length
      : content.case === "zeroLength"
        ? Number(content.value)
        : 0;
  if (length > maxChunkBytes) {
    throw ProviderError.invalidSpec(
      "chunk",
      `a chunk carries at most ${maxChunkBytes} bytes, not ${length}`,
    );
  }
  if (offset + length > sizeBytes) {
    throw ProviderError.invalidSpec(
      "chunk.offset",
      `the range [${offset}, ${offset + length}) ends past the file's ${sizeBytes} bytes`,
    );
  }
  const data = content.case === "data" ? content.value : undefined;
  const actual = data ? sha256Hex(data) : zeroSha256(length);
  if (actual !== chunk.sha256.toLowerCase()) {
    throw ProviderError.dataLoss(
      `the chunk at ${offset} (${length} bytes) does not match its SHA-256; nothing of it was kept`,
    );
  }
  return { offset, length, data };
}
