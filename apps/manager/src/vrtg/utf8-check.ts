import { isUtf8 } from "node:buffer";

/**
 * The offset of the first byte of `bytes` that does not start a well-formed
 * UTF-8 sequence (an overlong form, a surrogate, a stray continuation byte,
 * a sequence cut short), or -1 when every byte is well formed. The same rules
 * as `isUtf8` and `TextDecoder` with `fatal: true`, which give no offset.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] ?? 0;
    if (lead < 0x80) {
      i++;
      continue;
    }
    // The range the second byte must fall in excludes overlong forms,
    // surrogates and code points above U+10FFFF (Unicode table 3-7).
    let more: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) more = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      more = 2;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      more = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k <= more; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf))
        return i;
    }
    i += more + 1;
  }
  return -1;
}

/**
 * Where a sequence that `bytes` ends in the middle of begins (the rest may
 * come in the next chunk), or `bytes.length` when it ends between sequences.
 */
function completeLength(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/** Bytes that are not UTF-8, at an offset from the start of the input. */
export class InvalidUtf8Error extends Error {
  override name = "InvalidUtf8Error";
  constructor(
    /** From 0. */
    readonly offset: number,
    /** The line the byte is on, from 1. */
    readonly line: number,
  ) {
    super(`invalid UTF-8 at byte offset ${offset} (line ${line})`);
  }
}

function countNewlines(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) count++;
  return count;
}

/**
 * Checks a stream of bytes chunk by chunk, holding back a sequence split
 * between chunks until the rest arrives.
 */
export class Utf8Check {
  #held: Buffer = Buffer.alloc(0);
  #offset = 0;
  #newlines = 0;

  /**
   * The bytes of `chunk` (with any held back before it) that end on a whole
   * sequence, all checked.
   *
   * @throws InvalidUtf8Error with the offset of the first bad byte in the whole stream.
   */
  push(chunk: Uint8Array): Buffer {
    const bytes = this.#held.length
      ? Buffer.concat([this.#held, chunk])
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const complete = bytes.subarray(0, completeLength(bytes));
    if (!isUtf8(complete)) {
      const bad = invalidUtf8Offset(complete);
      throw new InvalidUtf8Error(
        this.#offset + bad,
        this.#newlines + countNewlines(complete.subarray(0, bad)) + 1,
      );
    }
    this.#held = bytes.subarray(complete.length);
    this.#offset += complete.length;
    this.#newlines += countNewlines(complete);
    return complete;
  }

  /** @throws InvalidUtf8Error when the stream ends inside a sequence. */
  end(): void {
    if (this.#held.length) throw new InvalidUtf8Error(this.#offset, this.#newlines + 1);
  }
}
