import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "@jest/globals";
import { SnapshotPhase, VMSnapshotSchema, VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { snapshotActions } from "./snapshot-actions";

const vm = create(VirtualMachineSchema, {
  metadata: { name: "web-1", generation: 2n },
  status: { id: "vm-9" },
});
const snap = (phase: SnapshotPhase, vmId = "vm-9", deleting = false) =>
  create(VMSnapshotSchema, {
    metadata: { name: "s1", ...(deleting && { deletionTimestamp: timestampFromMs(1) }) },
    spec: { vmRef: { name: "web-1" } },
    status: { phase, snapshotId: phase === SnapshotPhase.READY ? "snap-1" : "", vmId },
  });

describe("what a snapshot's row offers", () => {
  it("a ready snapshot of this VM: revert and delete", () => {
    expect(snapshotActions(snap(SnapshotPhase.READY), vm)).toEqual({ revert: true, delete: true });
  });

  it.each([
    ["creating", snap(SnapshotPhase.CREATING), "not ready"],
    ["failed", snap(SnapshotPhase.FAILED), "not ready"],
    ["of an earlier VM of that name", snap(SnapshotPhase.READY, "vm-1"), "taken of another VM"],
  ])("%s: no revert (%s), delete", (_, s, why) => {
    expect(snapshotActions(s, vm)).toEqual({ revert: why, delete: true });
  });

  it("being deleted: nothing", () => {
    expect(snapshotActions(snap(SnapshotPhase.READY, "vm-9", true), vm)).toEqual({
      revert: "being deleted",
      delete: "being deleted",
    });
  });

  it("a revert to it under way: no second revert; once done, revert again", () => {
    const asked = (revertedTo: string, revertedGeneration: bigint) =>
      create(VirtualMachineSchema, {
        metadata: { name: "web-1", generation: 2n },
        spec: { snapshot: { revertToRef: { name: "s1" } } },
        status: { id: "vm-9", revertedTo, revertedGeneration },
      });
    const reverting = asked("", 0n);
    expect(snapshotActions(snap(SnapshotPhase.READY), reverting).revert).toBe("reverting");
    const done = asked("s1", 2n);
    expect(snapshotActions(snap(SnapshotPhase.READY), done).revert).toBe(true);
    const doneBeforeAPowerOff = asked("s1", 1n);
    expect(snapshotActions(snap(SnapshotPhase.READY), doneBeforeAPowerOff).revert).toBe(true);
  });
});
