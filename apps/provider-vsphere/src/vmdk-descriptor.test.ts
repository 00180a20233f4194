import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import {
  flatExtentOf,
  monolithicFlatDescriptor,
  parseVmdkDescriptor,
  vmdkGeometry,
} from "./vmdk-descriptor.js";

/** The descriptor qemu-img writes for a new VMDK of a subformat (the head of the file for a binary one). */
function qemuDescriptor(subformat: string, size = "1G", adapterType = "lsilogic"): string {
  const dir = mkdtempSync(join(tmpdir(), "vmdk-"));
  try {
    const file = join(dir, "d.vmdk");
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "vmdk",
      "-o",
      `subformat=${subformat},adapter_type=${adapterType}`,
      file,
      size,
    ]);
    return readFileSync(file).subarray(0, 65536).toString("latin1");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("flatExtentOf", () => {
  it("reads a monolithicFlat disk from its flat extent", () => {
    const d = parseVmdkDescriptor(qemuDescriptor("monolithicFlat"));
    expect(d && flatExtentOf(d)).toEqual({ ok: true, file: "d-flat.vmdk", sizeBytes: 1 << 30 });
  });

  it("reads an ESXi (vmfs) disk from its flat extent", () => {
    const d = parseVmdkDescriptor(
      'createType="vmfs"\nparentCID=ffffffff\nRW 8388608 VMFS "web 1-flat.vmdk"\n',
    );
    expect(d && flatExtentOf(d)).toEqual({
      ok: true,
      file: "web 1-flat.vmdk",
      sizeBytes: 4 * 2 ** 30,
    });
  });

  it.each([
    ["streamOptimized", /createType is streamOptimized/],
    ["monolithicSparse", /createType is monolithicSparse/],
    ["twoGbMaxExtentFlat", /createType is twoGbMaxExtentFlat/],
  ])("refuses a %s disk, saying why", (subformat, why) => {
    const d = parseVmdkDescriptor(qemuDescriptor(subformat, "3G"));
    expect(d && flatExtentOf(d)).toEqual({ ok: false, why: expect.stringMatching(why) });
  });

  it("refuses a delta disk over a parent, and an extent outside the directory", () => {
    const delta = parseVmdkDescriptor(
      'createType="vmfsSparse"\nparentCID=1234abcd\nRW 8 VMFSSPARSE "a-delta.vmdk"\n',
    );
    expect(delta && flatExtentOf(delta)).toMatchObject({ ok: false, why: /delta disk/ });
    const outside = parseVmdkDescriptor('createType="vmfs"\nRW 8 VMFS "../x-flat.vmdk"\n');
    expect(outside && flatExtentOf(outside)).toMatchObject({ ok: false, why: /outside/ });
  });

  it("finds no descriptor in an empty file or random text", () => {
    expect(parseVmdkDescriptor("")).toBeUndefined();
    expect(parseVmdkDescriptor("hello\nworld")).toBeUndefined();
  });
});

describe("monolithicFlatDescriptor", () => {
  it("writes what qemu-img writes: the extent's sectors and SCSI geometry", () => {
    const text = monolithicFlatDescriptor({
      sizeBytes: 1 << 30,
      flatFileName: "d-flat.vmdk",
      cid: "0badcafe",
    });
    const qemu = qemuDescriptor("monolithicFlat");
    const ddb = (t: string) =>
      t
        .split("\n")
        .filter((l) => /^(RW|createType|ddb\.geometry|ddb\.adapterType)/.test(l))
        .sort();
    expect(ddb(text)).toEqual(ddb(qemu));
    expect(flatExtentOf(parseVmdkDescriptor(text)!)).toEqual({
      ok: true,
      file: "d-flat.vmdk",
      sizeBytes: 1 << 30,
    });
  });

  it("is read back by qemu-img as a disk of that size", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmdk-"));
    try {
      const size = 3 * 1024 * 1024;
      execFileSync("truncate", ["-s", String(size), join(dir, "x-flat.vmdk")]);
      const text = monolithicFlatDescriptor({
        sizeBytes: size,
        flatFileName: "x-flat.vmdk",
        cid: "00000001",
      });
      execFileSync("sh", ["-c", `cat > "${join(dir, "x.vmdk")}"`], { input: text });
      const info = JSON.parse(
        execFileSync("qemu-img", ["info", "--output=json", join(dir, "x.vmdk")]).toString(),
      ) as { "virtual-size": number; "format-specific": { data: { "create-type": string } } };
      expect(info["virtual-size"]).toBe(size);
      expect(info["format-specific"].data["create-type"]).toBe("monolithicFlat");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("uses 16 heads and at most 16383 cylinders on IDE", () => {
    expect(vmdkGeometry(100 * 2 ** 30, "ide")).toEqual({
      cylinders: 16383,
      heads: 16,
      sectors: 63,
    });
    expect(vmdkGeometry(2 ** 30, "lsilogic")).toEqual({ cylinders: 130, heads: 255, sectors: 63 });
  });

  it("refuses a size that is not whole sectors", () => {
    expect(() =>
      monolithicFlatDescriptor({ sizeBytes: 1000, flatFileName: "a", cid: "1" }),
    ).toThrow(RangeError);
  });
});
