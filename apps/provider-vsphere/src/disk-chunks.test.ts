import { describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { DiskChunkSchema, ErrorReason, type ProviderError } from "@virtrigaud/contracts";
import { checkChunk, chunkOf, sha256Hex, zeroSha256 } from "./disk-chunks.js";

const reasonOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as ProviderError).reason;
  }
  return undefined;
};

describe("chunkOf", () => {
  it("sends all-zero bytes as a zero range with the zeros' SHA-256", () => {
    const chunk = chunkOf(4096, new Uint8Array(512));
    expect(chunk.content).toEqual({ case: "zeroLength", value: 512n });
    expect(chunk.sha256).toBe(sha256Hex(new Uint8Array(512)));
  });

  it("sends other bytes as they are", () => {
    const data = Uint8Array.of(0, 0, 1);
    expect(chunkOf(0, data)).toEqual({
      offset: 0n,
      content: { case: "data", value: data },
      sha256: sha256Hex(data),
    });
  });
});

describe("checkChunk", () => {
  const data = Uint8Array.of(1, 2, 3);
  it("accepts bytes and zero ranges that match their SHA-256", () => {
    expect(
      checkChunk(
        create(DiskChunkSchema, {
          offset: 5n,
          content: { case: "data", value: data },
          sha256: sha256Hex(data),
        }),
        8,
      ),
    ).toEqual({ offset: 5, length: 3, data });
    expect(
      checkChunk(
        create(DiskChunkSchema, {
          offset: 0n,
          content: { case: "zeroLength", value: 8n },
          sha256: zeroSha256(8),
        }),
        8,
      ),
    ).toEqual({ offset: 0, length: 8, data: undefined });
  });

  it("refuses bytes that do not match with DATA_LOSS", () => {
    const corrupt = create(DiskChunkSchema, {
      offset: 0n,
      content: { case: "data", value: Uint8Array.of(1, 2, 4) },
      sha256: sha256Hex(data),
    });
    expect(reasonOf(() => checkChunk(corrupt, 8))).toBe(ErrorReason.DATA_LOSS);
  });

  it("refuses a range past the end of the file", () => {
    const late = create(DiskChunkSchema, {
      offset: 6n,
      content: { case: "data", value: data },
      sha256: sha256Hex(data),
    });
    expect(reasonOf(() => checkChunk(late, 8))).toBe(ErrorReason.INVALID_SPEC);
  });
});
