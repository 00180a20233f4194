import { isUtf8 } from "node:buffer";
import { describe, expect, it } from "@jest/globals";
import { InvalidUtf8Error, Utf8Check, invalidUtf8Offset } from "./utf8-check.js";

const bytes = (...values: number[]) => Uint8Array.from(values);

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function checkAll(chunks: Uint8Array[]): InvalidUtf8Error | Buffer {
  const check = new Utf8Check();
  const out: Buffer[] = [];
  try {
    for (const chunk of chunks) out.push(check.push(chunk));
    check.end();
  } catch (err) {
    if (err instanceof InvalidUtf8Error) return err;
    throw err;
  }
  return Buffer.concat(out);
}

describe("invalidUtf8Offset", () => {
  it.each([
    ["ASCII", bytes(0x61, 0x62), -1],
    ["two, three and four byte sequences", Buffer.from("é€😀"), -1],
    ["a stray continuation byte", bytes(0x61, 0x80), 1],
    ["an overlong two-byte form", bytes(0x61, 0xc0, 0x80), 1],
    ["an overlong three-byte form", bytes(0xe0, 0x80, 0x80), 0],
    ["a surrogate", bytes(0x61, 0x61, 0xed, 0xa0, 0x80), 2],
    ["a code point above U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80), 0],
    ["a byte that never occurs", bytes(0x61, 0xff), 1],
    ["a sequence cut short at the end", bytes(0x61, 0xe2, 0x82), 1],
    ["a sequence cut short by ASCII", bytes(0xe2, 0x82, 0x61), 0],
  ])("finds %s", (_, input, offset) => {
    expect(invalidUtf8Offset(input)).toBe(offset);
    expect(isUtf8(input)).toBe(offset === -1);
  });

  it("agrees with isUtf8, and everything before the offset is well formed", () => {
    const next = random(7);
    for (let n = 0; n < 5000; n++) {
      const input = Uint8Array.from({ length: 1 + Math.floor(next() * 12) }, () =>
        // Mostly bytes that make multi-byte sequences, where the rules are.
        next() < 0.3 ? Math.floor(next() * 0x80) : 0x80 + Math.floor(next() * 0x80),
      );
      const offset = invalidUtf8Offset(input);
      expect(offset === -1).toBe(isUtf8(input));
      if (offset !== -1) {
        expect(isUtf8(input.subarray(0, offset))).toBe(true);
        expect(isUtf8(input.subarray(0, offset + 4))).toBe(false);
      }
    }
  });
});

describe("Utf8Check", () => {
  it("takes a sequence split between chunks, and gives back every byte", () => {
    const text = Buffer.from("a: é€😀\nb: ok\n");
    for (let cut = 0; cut <= text.length; cut++) {
      expect(checkAll([text.subarray(0, cut), text.subarray(cut)])).toEqual(text);
    }
  });

  it("names the offset and line of the first bad byte in the whole stream", () => {
    const result = checkAll([Buffer.from("a: 1\nb: caf"), bytes(0xe9), Buffer.from(" x\n")]);
    expect(result).toBeInstanceOf(InvalidUtf8Error);
    expect(result).toMatchObject({ offset: 11, line: 2 });
  });

  it("refuses a stream that ends inside a sequence", () => {
    expect(checkAll([Buffer.from("a\nb\n"), bytes(0xf0, 0x9f)])).toMatchObject({
      offset: 4,
      line: 3,
    });
  });
});
