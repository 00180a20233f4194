import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError, type Ranges } from "@virtrigaud/contracts";
import { qcow2ChangedSince } from "./qcow2-changes.js";

// Real images made by qemu-img and written by qemu-io: the tables are qemu's own.
const dir = mkdtempSync(join(tmpdir(), "qcow2-changes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KiB = 1024;
const MiB = 1024 * KiB;
const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: "pipe" });
const io = (image: string, ...commands: string[]) =>
  run("qemu-io", ...commands.flatMap((c) => ["-c", c]), image);

async function changedSince(image: string, snapshot: string): Promise<Ranges> {
  const file = await open(image, "r");
  try {
    return await qcow2ChangedSince(async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    }, snapshot);
  } finally {
    await file.close();
  }
}

/** The 64 KiB blocks where the image now differs from the image at `snapshot`, by content. */
function differingBlocks(image: string, snapshot: string): number[] {
  const then = join(dir, "then.raw");
  const now = join(dir, "now.raw");
  run(
    "qemu-img",
    "convert",
    "-l",
    `snapshot.name=${snapshot.replace(/,/g, ",,")}`,
    "-O",
    "raw",
    image,
    then,
  );
  run("qemu-img", "convert", "-O", "raw", image, now);
  const a = readFileSync(then);
  const b = readFileSync(now);
  const out: number[] = [];
  for (let at = 0; at < a.length; at += 64 * KiB)
    if (!a.subarray(at, at + 64 * KiB).equals(b.subarray(at, at + 64 * KiB))) out.push(at);
  return out;
}

const covered = (ranges: Ranges, at: number) => ranges.some(([s, e]) => s <= at && at < e);

it("lists exactly the clusters written after an internal snapshot: data, zeroes, and rewrites of the same bytes", async () => {
  const image = join(dir, "disk.qcow2");
  run("qemu-img", "create", "-q", "-f", "qcow2", image, "64M");
  io(image, "write -P 0x11 0 2M", "write -P 0x33 40M 1M");
  // A name with a comma: qemu's option syntax doubles it; the table holds it as it is.
  run("qemu-img", "snapshot", "-c", "before,1", image);
  io(
    image,
    "write -P 0x22 3M 64k",
    "write -z 0 64k",
    "write -P 0x11 512k 64k",
    "write -P 0x44 63M 4k",
  );
  const ranges = await changedSince(image, "before,1");
  expect(ranges).toEqual([
    [0, 64 * KiB],
    [512 * KiB, 576 * KiB],
    [3 * MiB, 3 * MiB + 64 * KiB],
    [63 * MiB, 63 * MiB + 64 * KiB],
  ]);
  // Sound: every block whose bytes differ is listed (the rewrite of the same bytes is listed too).
  const differing = differingBlocks(image, "before,1");
  expect(differing.length).toBe(3);
  for (const at of differing) expect(covered(ranges, at)).toBe(true);
});

it("finds nothing changed when nothing was written, and lists changes of a later snapshot's own", async () => {
  const image = join(dir, "two.qcow2");
  run("qemu-img", "create", "-q", "-f", "qcow2", image, "16M");
  io(image, "write -P 0x55 0 1M");
  run("qemu-img", "snapshot", "-c", "one", image);
  expect(await changedSince(image, "one")).toEqual([]);
  io(image, "write -P 0x66 8M 128k");
  run("qemu-img", "snapshot", "-c", "two", image);
  io(image, "write -P 0x77 12M 64k");
  expect(await changedSince(image, "two")).toEqual([[12 * MiB, 12 * MiB + 64 * KiB]]);
  expect(await changedSince(image, "one")).toEqual([
    [8 * MiB, 8 * MiB + 128 * KiB],
    [12 * MiB, 12 * MiB + 64 * KiB],
  ]);
  const missing = await changedSince(image, "three").catch((e: unknown) => e);
  expect(ProviderError.is(missing, ErrorReason.NOT_FOUND)).toBe(true);
});

it("reads an image on a backing file: clusters still in the backing file did not change", async () => {
  const base = join(dir, "base.qcow2");
  const top = join(dir, "top.qcow2");
  run("qemu-img", "create", "-q", "-f", "qcow2", base, "16M");
  io(base, "write -P 0x12 0 4M");
  run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top);
  io(top, "write -P 0x13 1M 64k");
  run("qemu-img", "snapshot", "-c", "s", top);
  io(top, "write -P 0x14 2M 64k");
  expect(await changedSince(top, "s")).toEqual([[2 * MiB, 2 * MiB + 64 * KiB]]);
});
