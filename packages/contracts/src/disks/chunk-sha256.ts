import { createHash } from "node:crypto";

/** A shared block of zeros, so hashing a zero range allocates nothing per call. */
const zeroBlock = new Uint8Array(64 * 1024);

/** Hashes of zero ranges by length: a disk's zero chunks are mostly one length. */
const zeroHashes = new Map<number, string>();
const zeroHashesKept = 16;

/** SHA-256 of `bytes`, as 64 lowercase hexadecimal digits (the contract's form). */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** SHA-256 of `length` zero bytes, as a DiskChunk with zero_length carries it. */
export function zeroRangeSha256(length: number): string {
  const known = zeroHashes.get(length);
  if (known !== undefined) return known;
  const hash = createHash("sha256");
  for (let left = length; left > 0; left -= zeroBlock.length) {
    hash.update(left >= zeroBlock.length ? zeroBlock : zeroBlock.subarray(0, left));
  }
  const digest = hash.digest("hex");
  if (zeroHashes.size >= zeroHashesKept) zeroHashes.clear();
  zeroHashes.set(length, digest);
  return digest;
}
