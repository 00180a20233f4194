import { describe, expect, it } from "@jest/globals";
import { PowerState } from "@virtrigaud/contracts";
import type { VirtualMachineSnapshotTree } from "@virtrigaud/vsphere-sdk";
import { findSnapshot, flattenSnapshots, snapshotIdOf, snapshotsByTime } from "./snapshot-tree.js";

const tree = (
  moref: string,
  name: string,
  createTime: string,
  children: VirtualMachineSnapshotTree[] = [],
  state = "poweredOff",
): VirtualMachineSnapshotTree => ({
  snapshot: { type: "VirtualMachineSnapshot", value: moref },
  vm: { type: "VirtualMachine", value: "vm-1" },
  name,
  description: `${name} snapshot`,
  createTime,
  state,
  quiesced: false,
  childSnapshotList: children,
});

// base -> { before-upgrade -> "nightly", "nightly" }, and "with space" on base.
const forest = [
  tree("snapshot-1", "base", "2024-01-01T00:00:00Z", [
    tree("snapshot-2", "before-upgrade", "2024-01-02T00:00:00Z", [
      tree("snapshot-4", "nightly", "2024-01-04T00:00:00Z"),
    ]),
    tree("snapshot-3", "nightly", "2024-01-03T00:00:00Z", [], "poweredOn"),
    tree("snapshot-5", "with space", "2024-01-05T00:00:00Z", [], "suspended"),
  ]),
];
const all = flattenSnapshots(forest);
const entry = (moref: string) => all.find((e) => e.tree.snapshot.value === moref)!;

describe("flattenSnapshots", () => {
  it("lists every snapshot, each before its children, with its parent", () => {
    expect(all.map((e) => [e.tree.snapshot.value, e.parent?.snapshot.value])).toEqual([
      ["snapshot-1", undefined],
      ["snapshot-2", "snapshot-1"],
      ["snapshot-4", "snapshot-2"],
      ["snapshot-3", "snapshot-1"],
      ["snapshot-5", "snapshot-1"],
    ]);
    expect(flattenSnapshots(undefined)).toEqual([]);
  });
});

describe("snapshotIdOf", () => {
  it("is the name when it is a valid id and unique in the VM", () => {
    expect(snapshotIdOf(entry("snapshot-1"), all)).toBe("base");
    expect(snapshotIdOf(entry("snapshot-2"), all)).toBe("before-upgrade");
  });

  it("is the moref for a name two snapshots share, or one that is not a valid id", () => {
    expect(snapshotIdOf(entry("snapshot-3"), all)).toBe("snapshot-3");
    expect(snapshotIdOf(entry("snapshot-4"), all)).toBe("snapshot-4");
    expect(snapshotIdOf(entry("snapshot-5"), all)).toBe("snapshot-5");
  });
});

describe("findSnapshot", () => {
  it("finds a snapshot by its id, name or moref", () => {
    expect(findSnapshot(all, "before-upgrade")).toBe(entry("snapshot-2"));
    expect(findSnapshot(all, "snapshot-3")).toBe(entry("snapshot-3"));
    expect(findSnapshot(all, "nightly")).toBeUndefined();
    expect(findSnapshot(all, "with space")).toBeUndefined();
  });

  it("takes an id as a moref first, even when another snapshot is named like it", () => {
    const confusing = flattenSnapshots([
      tree("snapshot-8", "first", "2024-01-01T00:00:00Z"),
      tree("snapshot-9", "snapshot-8", "2024-01-02T00:00:00Z"),
    ]);
    expect(findSnapshot(confusing, "snapshot-8")?.tree.name).toBe("first");
  });
});

describe("snapshotsByTime", () => {
  it("lists the snapshots oldest first, with parent ids, memory and power state", () => {
    const listed = snapshotsByTime(all);
    expect(listed.map((s) => [s.id, s.parentId])).toEqual([
      ["base", ""],
      ["before-upgrade", "base"],
      ["snapshot-3", "base"],
      ["snapshot-4", "before-upgrade"],
      ["snapshot-5", "base"],
    ]);
    expect(listed.map((s) => [s.includeMemory, s.powerState])).toEqual([
      [false, PowerState.OFF],
      [false, PowerState.OFF],
      [true, PowerState.ON],
      [false, PowerState.OFF],
      [true, PowerState.SUSPENDED],
    ]);
    expect(listed[0]?.name).toBe("base");
    expect(listed[0]?.description).toBe("base snapshot");
    expect(Number(listed[0]?.createTime?.seconds)).toBe(Date.parse("2024-01-01T00:00:00Z") / 1000);
  });
});
