import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { DiskChunkSchema, ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import { checkChunk, chunkOf, isAllZero, maxChunkBytes, zeroRangeSha256 } from "./chunks.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function refusal(run: () => unknown): ProviderError {
  try {
    run();
  } catch (err) {
    if (err instanceof ProviderError) return err;
  }
  throw new Error("expected a ProviderError");
}

describe("chunkOf", () => {
  it("sends zeros as zero_length with the digest of that many zeros", () => {
    const chunk = chunkOf(4096, Buffer.alloc(1000));
    expect(chunk.content).toEqual({ case: "zeroLength", value: 1000n });
    expect(chunk.sha256).toBe(sha(Buffer.alloc(1000)));
    expect(chunk.offset).toBe(4096n);
  });

  it("sends any other bytes as data with their digest", () => {
    const bytes = Buffer.alloc(1000);
    bytes[999] = 1;
    const chunk = chunkOf(0, bytes);
    expect(chunk.content.case).toBe("data");
    expect(chunk.sha256).toBe(sha(bytes));
  });

  it("sends an empty range (a read at the end) as empty data", () => {
    expect(chunkOf(10, Buffer.alloc(0)).content).toEqual({
      case: "data",
      value: Buffer.alloc(0),
    });
  });
});

describe("checkChunk", () => {
  const data = Buffer.from("hello disk");

  it("passes data that matches its digest, and zeros as a hole", () => {
    expect(
      checkChunk(
        create(DiskChunkSchema, {
          offset: 5n,
          content: { case: "data", value: data },
          sha256: sha(data),
        }),
        100,
      ),
    ).toEqual({ offset: 5, length: data.length, data });
    expect(
      checkChunk(
        create(DiskChunkSchema, {
          offset: 0n,
          content: { case: "zeroLength", value: 64n },
          sha256: zeroRangeSha256(64),
        }),
        100,
      ),
    ).toEqual({ offset: 0, length: 64, data: undefined });
    // Data that is all zero is a hole too: the file holds zeros there already.
    const blank = new Uint8Array(32);
    expect(
      checkChunk(
        create(DiskChunkSchema, { content: { case: "data", value: blank }, sha256: sha(blank) }),
        100,
      ).data,
    ).toBeUndefined();
  });

  it("refuses a chunk whose bytes do not match with DATA_LOSS", () => {
    const corrupted = Buffer.from(data);
    corrupted[0] = 0x48;
    const err = refusal(() =>
      checkChunk(
        create(DiskChunkSchema, { content: { case: "data", value: corrupted }, sha256: sha(data) }),
        100,
      ),
    );
    expect(err.reason).toBe(ErrorReason.DATA_LOSS);
    // A zero_length whose digest is not that of zeros is refused too.
    expect(
      refusal(() =>
        checkChunk(
          create(DiskChunkSchema, {
            content: { case: "zeroLength", value: 8n },
            sha256: sha(data),
          }),
          100,
        ),
      ).reason,
    ).toBe(ErrorReason.DATA_LOSS);
  });

  it("refuses a chunk past the end of the file, too long, or without content", () => {
    const past = refusal(() =>
      checkChunk(
        create(DiskChunkSchema, {
          offset: 95n,
          content: { case: "data", value: data },
          sha256: sha(data),
        }),
        100,
      ),
    );
    expect([past.reason, past.field]).toEqual([ErrorReason.INVALID_SPEC, "chunk.offset"]);
    const long = refusal(() =>
      checkChunk(
        create(DiskChunkSchema, {
          content: { case: "zeroLength", value: BigInt(maxChunkBytes + 1) },
          sha256: "",
        }),
        10 * maxChunkBytes,
      ),
    );
    expect(long.field).toBe("chunk.zero_length");
    expect(refusal(() => checkChunk(create(DiskChunkSchema, {}), 100)).field).toBe("chunk.content");
  });
});

it("hashes zero ranges of any length as that many zeros", () => {
  for (const length of [0, 1, 4096, maxChunkBytes, 3 * maxChunkBytes + 5])
    expect(zeroRangeSha256(length)).toBe(sha(Buffer.alloc(length)));
});

it("tells all-zero buffers from others", () => {
  expect(isAllZero(Buffer.alloc(maxChunkBytes))).toBe(true);
  expect(isAllZero(Buffer.from([0, 0, 1]))).toBe(false);
});
