import { describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { DiskChunkSchema, ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import { afterChunkFailure, afterPass, chunkProblem, nextRange } from "./chunk-plan.js";
import { sha256Hex, zeroRangeSha256 } from "./chunks.js";

describe("nextRange", () => {
  it.each([
    [0, 10, 4, { offset: 0, length: 4 }],
    [8, 10, 4, { offset: 8, length: 2 }],
    [10, 10, 4, undefined],
    [12, 10, 4, undefined],
    [0, 0, 4, undefined],
  ])("from %d of %d by %d gives %j", (cursor, size, chunk, expected) => {
    expect(nextRange(cursor, size, chunk)).toEqual(expected);
  });
});

describe("chunkProblem", () => {
  const bytes = new Uint8Array([1, 2, 3, 4]);
  const dataChunk = (offset: bigint, data: Uint8Array, sha256 = sha256Hex(data)) =>
    create(DiskChunkSchema, { offset, content: { case: "data", value: data }, sha256 });

  it("accepts the range asked for with matching bytes, in either case of hex", () => {
    expect(chunkProblem({ offset: 8, length: 4 }, dataChunk(8n, bytes))).toBeUndefined();
    const upper = sha256Hex(bytes).toUpperCase();
    expect(chunkProblem({ offset: 8, length: 4 }, dataChunk(8n, bytes, upper))).toBeUndefined();
  });

  it("accepts a zero range whose sha256 is that of its zeros", () => {
    const zeros = create(DiskChunkSchema, {
      offset: 0n,
      content: { case: "zeroLength", value: 4096n },
      sha256: zeroRangeSha256(4096),
    });
    expect(chunkProblem({ offset: 0, length: 4096 }, zeros)).toBeUndefined();
    expect(zeroRangeSha256(4096)).toBe(sha256Hex(new Uint8Array(4096)));
  });

  it("refuses damaged bytes, another offset, a short chunk, an empty one and none", () => {
    const range = { offset: 8, length: 4 };
    expect(chunkProblem(range, dataChunk(8n, bytes, sha256Hex(new Uint8Array(4))))).toMatch(
      /do not match/,
    );
    expect(chunkProblem(range, dataChunk(12n, bytes))).toMatch(/starts at 12/);
    expect(chunkProblem(range, dataChunk(8n, bytes.subarray(0, 3)))).toMatch(/holds 3 bytes/);
    expect(chunkProblem(range, create(DiskChunkSchema, { offset: 8n }))).toMatch(/neither/);
    expect(chunkProblem(range, undefined)).toMatch(/no chunk/);
  });

  it("refuses a zero range that claims another checksum", () => {
    const zeros = create(DiskChunkSchema, {
      offset: 8n,
      content: { case: "zeroLength", value: 4n },
      sha256: sha256Hex(bytes),
    });
    expect(chunkProblem({ offset: 8, length: 4 }, zeros)).toMatch(/do not match/);
  });
});

describe("afterChunkFailure", () => {
  const damaged = ProviderError.dataLoss("damaged");
  it("reads a damaged chunk again until its tries run out", () => {
    expect(afterChunkFailure(damaged, 1, 3)).toBe("reread");
    expect(afterChunkFailure(damaged, 2, 3)).toBe("reread");
    expect(afterChunkFailure(damaged, 3, 3)).toBe("fail");
  });
  it.each([ErrorReason.UNAVAILABLE, ErrorReason.NOT_FOUND, ErrorReason.CANCELED])(
    "fails the copy on reason %d",
    (reason) => {
      expect(afterChunkFailure(new ProviderError(reason, "x"), 1, 3)).toBe("fail");
    },
  );
});

describe("afterPass", () => {
  it("commits a whole file, writes again a partial one, gives up after the last pass", () => {
    expect(afterPass(10, 10, 1, 3)).toBe("commit");
    expect(afterPass(6, 10, 1, 3)).toBe("write-again");
    expect(afterPass(6, 10, 3, 3)).toBe("fail");
  });
});
