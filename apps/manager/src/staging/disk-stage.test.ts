import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { ErrorReason, ImageFormat, ProviderError, chunkOf } from "@virtrigaud/contracts";
import { type DiskStage, createDiskStage } from "./disk-stage.js";

const MiB = 1024 * 1024;
const chunk = 2 * MiB;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** 70 MiB: random bytes in the first 66 MiB (past the 64 MiB checkpoint), then zeros. */
const file = Buffer.alloc(70 * MiB);
randomBytes(66 * MiB).copy(file);
const digest = sha256(file);

const errorOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return ProviderError.from(err);
  }
  throw new Error("expected a refusal");
};

describe("the staging directory of a migration", () => {
  let dir: string;
  let stage: DiskStage;
  const begin = (s: DiskStage, sha = digest) =>
    s.diskImportBegin({
      importId: "disk-1",
      format: ImageFormat.RAW,
      sizeBytes: BigInt(file.length),
      sha256: sha,
    });
  const write = (s: DiskStage, offset: number) =>
    s.diskImportWrite({
      importId: "disk-1",
      chunk: chunkOf(offset, file.subarray(offset, Math.min(file.length, offset + chunk))),
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vrtg-stage-"));
    stage = createDiskStage(join(dir, "mig"));
  });
  afterEach(async () => {
    await stage.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("takes chunks out of order, keeps zeros as holes, checks the whole file and gives it back", async () => {
    expect((await begin(stage)).import?.receivedBytes).toBe(0n);
    const offsets = Array.from({ length: file.length / chunk }, (_, i) => i * chunk);
    // Each pair swapped: every chunk lands past the prefix first.
    for (let i = 0; i < offsets.length; i += 2) {
      if (offsets[i + 1] !== undefined) await write(stage, offsets[i + 1]!);
      await write(stage, offsets[i]!);
    }
    const committed = await stage.diskImportCommit({ importId: "disk-1" });
    expect(committed.import?.committed).toBe(true);
    expect(committed.disk?.source).toEqual({ case: "importedDisk", value: "disk-1" });
    const data = join(dir, "mig", "disk-1.raw");
    expect(sha256(await readFile(data))).toBe(digest);
    // The 4 MiB of zeros at the end were never written: holes.
    expect((await stat(data)).blocks * 512).toBeLessThan(67 * MiB);

    // Read back as an export: the same bytes, zeros as zero_length.
    const tail = await stage.diskExportRead({
      exportId: "disk-1",
      offset: BigInt(68 * MiB),
      length: chunk,
    });
    expect(tail.chunk?.content.case).toBe("zeroLength");
    const head = await stage.diskExportRead({ exportId: "disk-1", offset: 0n, length: chunk });
    expect(head.chunk?.content.value).toEqual(file.subarray(0, chunk));
    // Committed again: the same answer; written again: refused.
    expect((await stage.diskImportCommit({ importId: "disk-1" })).import?.committed).toBe(true);
    expect((await errorOf(write(stage, 0))).reason).toBe(ErrorReason.CONFLICT);
  });

  it("remembers the prefix it recorded across a new process, and resumes from it", async () => {
    await begin(stage);
    for (let offset = 0; offset < 66 * MiB; offset += chunk) await write(stage, offset);
    await stage.close();
    // A manager that starts again: the prefix recorded at the 64 MiB checkpoint.
    const again = createDiskStage(join(dir, "mig"));
    try {
      const resumed = await begin(again);
      expect(resumed.import?.receivedBytes).toBe(BigInt(64 * MiB));
      // Not yet whole: it cannot be read as an export nor committed.
      expect((await errorOf(again.diskImportCommit({ importId: "disk-1" }))).reason).toBe(
        ErrorReason.CONFLICT,
      );
      for (let offset = 64 * MiB; offset < file.length; offset += chunk) await write(again, offset);
      expect((await again.diskImportCommit({ importId: "disk-1" })).import?.committed).toBe(true);
    } finally {
      await again.close();
    }
  });

  it("refuses a damaged chunk, another file under the same id, and ids that are not plain names", async () => {
    await begin(stage);
    const bytes = Buffer.from(file.subarray(0, chunk));
    const damaged = chunkOf(0, bytes);
    bytes.writeUInt8(bytes.readUInt8(0) ^ 0xff, 0);
    const refused = await errorOf(stage.diskImportWrite({ importId: "disk-1", chunk: damaged }));
    expect(refused.reason).toBe(ErrorReason.DATA_LOSS);
    expect((await errorOf(begin(stage, "0".repeat(64)))).reason).toBe(ErrorReason.CONFLICT);
    const escape = await errorOf(
      stage.diskImportBegin({
        importId: "../../etc/passwd",
        format: ImageFormat.RAW,
        sizeBytes: 512n,
        sha256: digest,
      }),
    );
    expect([escape.reason, escape.field]).toEqual([ErrorReason.INVALID_SPEC, "import_id"]);
    expect(existsSync(join(dir, "etc"))).toBe(false);
  });

  it("finds a whole file that does not match its SHA-256 at commit, and has it written again", async () => {
    const wrong = sha256(Buffer.from("another file"));
    await begin(stage, wrong);
    for (let offset = 0; offset < file.length; offset += chunk) await write(stage, offset);
    const error = await errorOf(stage.diskImportCommit({ importId: "disk-1" }));
    expect(error.reason).toBe(ErrorReason.DATA_LOSS);
    expect((await begin(stage, wrong)).import?.receivedBytes).toBe(0n);
  });

  it("removes its directory", async () => {
    await begin(stage);
    await stage.remove();
    expect(existsSync(join(dir, "mig"))).toBe(false);
  });
});
