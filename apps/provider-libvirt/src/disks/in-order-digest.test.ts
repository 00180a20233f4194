import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "@jest/globals";
import { createInOrderDigest } from "./in-order-digest.js";

const file = randomBytes(64 * 1024);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const range = (offset: number, length: number) => file.subarray(offset, offset + length);

describe("createInOrderDigest", () => {
  it("is the file's SHA-256 when the ranges arrive in order", () => {
    const digest = createInOrderDigest(file.length, 0);
    for (let offset = 0; offset < file.length; offset += 4096)
      digest.add(offset, 4096, range(offset, 4096));
    expect(digest.result()).toBe(sha(file));
  });

  it("holds ranges that finish ahead of the prefix and hashes them when it reaches them", () => {
    const digest = createInOrderDigest(file.length, 3 * 16384);
    const order = [16384, 49152, 32768, 0];
    for (const offset of order) {
      digest.add(offset, 16384, range(offset, 16384));
      if (offset !== 0) expect(digest.result()).toBeUndefined();
    }
    expect(digest.heldBytes).toBe(0);
    expect(digest.result()).toBe(sha(file));
  });

  it("hashes a range given as undefined as that many zeros", () => {
    const withHole = Buffer.concat([range(0, 1000), Buffer.alloc(3 << 20), range(1000, 24)]);
    const digest = createInOrderDigest(withHole.length, 0);
    digest.add(0, 1000, range(0, 1000));
    digest.add(1000, 3 << 20, undefined);
    digest.add(1000 + (3 << 20), 24, range(1000, 24));
    expect(digest.result()).toBe(sha(withHole));
  });

  it("gives up on a range written again (a resend or a final sync's rewrite)", () => {
    const digest = createInOrderDigest(file.length, 1 << 20);
    digest.add(0, 32768, range(0, 32768));
    digest.add(16384, 16384, range(16384, 16384));
    digest.add(32768, 32768, range(32768, 32768));
    expect(digest.result()).toBeUndefined();
  });

  it("gives up on a range that overlaps one held ahead", () => {
    const digest = createInOrderDigest(file.length, 1 << 20);
    digest.add(32768, 16384, range(32768, 16384));
    digest.add(40960, 8192, range(40960, 8192));
    digest.add(0, 32768, range(0, 32768));
    digest.add(49152, 16384, range(49152, 16384));
    expect(digest.result()).toBeUndefined();
  });

  it("gives up rather than hold more than it may ahead of the prefix", () => {
    const digest = createInOrderDigest(file.length, 16384);
    digest.add(16384, 16384, range(16384, 16384));
    digest.add(32768, 16384, range(32768, 16384));
    expect(digest.heldBytes).toBe(0);
    digest.add(0, 16384, range(0, 16384));
    digest.add(48 * 1024, 16384, range(48 * 1024, 16384));
    expect(digest.result()).toBeUndefined();
  });

  it("has no result while bytes are missing, and none once written again after it", () => {
    const digest = createInOrderDigest(file.length, 0);
    digest.add(0, file.length - 1, range(0, file.length - 1));
    expect(digest.result()).toBeUndefined();
    digest.add(file.length - 1, 1, range(file.length - 1, 1));
    expect(digest.result()).toBe(sha(file));
    expect(digest.result()).toBe(sha(file));
    digest.add(0, 16, range(0, 16));
    expect(digest.result()).toBeUndefined();
  });

  it("gives up on a range past the file's end", () => {
    const digest = createInOrderDigest(1000, 0);
    digest.add(0, 1001, Buffer.alloc(1001));
    expect(digest.result()).toBeUndefined();
  });
});
