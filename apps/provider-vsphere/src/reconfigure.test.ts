import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import type { VirtualDisk } from "@virtrigaud/vsphere-sdk";
import { diskGrowth } from "./reconfigure.js";

const disk = (key: number, sizeGib: number): VirtualDisk => ({
  _type: "VirtualDisk",
  key,
  capacityInKB: sizeGib * 1024 * 1024,
});
const disks = [
  { name: "root", disk: disk(2000, 10) },
  { name: "data", disk: disk(2001, 5) },
];
const fieldOf = (work: () => unknown) => {
  try {
    work();
  } catch (err) {
    expect(ProviderError.is(err, ErrorReason.INVALID_SPEC)).toBe(true);
    return (err as ProviderError).field;
  }
  throw new Error("no error");
};

describe("diskGrowth", () => {
  it("grows the named disks that are smaller than asked, and leaves the others", () => {
    const change = diskGrowth("vm-1", disks, [
      { name: "data", sizeGib: 8 },
      { name: "root", sizeGib: 10 },
    ]);
    expect(
      change.map((c) => [c.operation, c.device.key, (c.device as VirtualDisk).capacityInKB]),
    ).toEqual([["edit", 2001, 8 * 1024 * 1024]]);
  });

  it("refuses a disk the VM has not, and a shrink, naming the field", () => {
    expect(fieldOf(() => diskGrowth("vm-1", disks, [{ name: "logs", sizeGib: 1 }]))).toBe(
      "disks[0].name",
    );
    expect(
      fieldOf(() =>
        diskGrowth("vm-1", disks, [
          { name: "root", sizeGib: 12 },
          { name: "data", sizeGib: 4 },
        ]),
      ),
    ).toBe("disks[1].size_gib");
  });
});
