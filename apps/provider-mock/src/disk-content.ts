/**
 * The bytes of a mock disk that was not imported: made up from a seed (the
 * VM's and the disk's names), the same every time, so that an export's
 * checksum means something and two disks differ. A quarter of data, a half
 * of zeros, a quarter of data with a zero 64 KiB block in every four: the
 * zeros travel as zero_length, as a real disk's unallocated space does.
 */
export function generateDiskContent(seed: string, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const words = new Uint32Array(bytes.buffer, 0, Math.floor(length / 4));
  let state = hashOf(seed);
  // xorshift32: cheap enough to fill megabytes at start of an export.
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  for (let i = 0; i < words.length; i++) words[i] = next();
  for (let i = words.length * 4; i < length; i++) bytes[i] = next() & 0xff;
  const quarter = Math.floor(length / 4);
  bytes.fill(0, quarter, 3 * quarter);
  const block = 64 * 1024;
  for (let start = 3 * quarter; start < length; start += 4 * block) {
    bytes.fill(0, start, Math.min(length, start + block));
  }
  return bytes;
}

/** FNV-1a of `text`, never 0 (xorshift's fixed point). */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0 || 1;
}
