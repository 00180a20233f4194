import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "@jest/globals";
import { VMSnapshotSchema, VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { revertDone, revertPlan, snapshotOf, snapshotsOfVm, vmToApply } from "./snapshot-manifests";

const vm = (revertTo?: string, revertedTo = "", revertedGeneration = 0n) =>
  create(VirtualMachineSchema, {
    metadata: { name: "web-1", namespace: "team-a", resourceVersion: "7", generation: 4n },
    spec: {
      classRef: { name: "small" },
      ...(revertTo && { snapshot: { revertToRef: { name: revertTo } } }),
    },
    status: { id: "vm-9", revertedTo, revertedGeneration },
  });

describe("the manifests of snapshot actions", () => {
  it("a new snapshot names the VM in its namespace, as a v1beta1 VMSnapshot", () => {
    const snap = snapshotOf(vm(), "before-upgrade");
    expect(snap.apiVersion).toBe("infra.virtrigaud.io/v1beta1");
    expect(snap.kind).toBe("VMSnapshot");
    expect(snap.metadata?.name).toBe("before-upgrade");
    expect(snap.metadata?.namespace).toBe("team-a");
    expect(snap.spec?.vmRef?.name).toBe("web-1");
    expect(snap.status).toBeUndefined();
  });

  it("lists only the VM's snapshots, oldest first", () => {
    const at = (name: string, vmName: string, ms: number) =>
      create(VMSnapshotSchema, {
        metadata: { name, creationTimestamp: timestampFromMs(ms) },
        spec: { vmRef: { name: vmName } },
      });
    const list = [
      at("b", "web-1", 2000),
      at("x", "web-2", 1000),
      at("a", "web-1", 3000),
      at("c", "web-1", 2000),
    ];
    expect(snapshotsOfVm(list, "web-1").map((s) => s.metadata?.name)).toEqual(["b", "c", "a"]);
  });

  it("a revert sets spec.snapshot.revertToRef at the VM's resourceVersion, without status", () => {
    const plan = revertPlan(vm(), "before-upgrade");
    expect(plan.first.spec?.snapshot?.revertToRef?.name).toBe("before-upgrade");
    expect(plan.first.spec?.classRef?.name).toBe("small");
    expect(plan.first.metadata?.resourceVersion).toBe("7");
    expect(plan.first.status).toBeUndefined();
    expect(plan.second).toBeUndefined();
  });

  it("a revert to another snapshot replaces the one done", () => {
    const plan = revertPlan(vm("old", "old", 4n), "new");
    expect(plan.first.spec?.snapshot?.revertToRef?.name).toBe("new");
    expect(plan.second).toBeUndefined();
  });

  it("a revert to the snapshot the spec names, done, clears it first, then sets it again", () => {
    const plan = revertPlan(vm("before", "before", 3n), "before");
    expect(plan.first.spec?.snapshot).toBeUndefined();
    expect(plan.first.metadata?.resourceVersion).toBe("7");
    // Set again on the VM as it is once the manager has forgotten the revert.
    const forgotten = clone(VirtualMachineSchema, plan.first);
    if (forgotten.metadata) forgotten.metadata.resourceVersion = "9";
    const second = plan.second?.(forgotten);
    expect(second?.spec?.snapshot?.revertToRef?.name).toBe("before");
    expect(second?.metadata?.resourceVersion).toBe("9");
    expect(second?.status).toBeUndefined();
  });

  it("a revert to the snapshot the spec names, not done yet, is asked once more as it is", () => {
    const plan = revertPlan(vm("before"), "before");
    expect(plan.first.spec?.snapshot?.revertToRef?.name).toBe("before");
    expect(plan.second).toBeUndefined();
  });

  it.each([
    ["done at this generation", vm("s", "s", 4n), true],
    ["done at an earlier generation (the spec changed since)", vm("s", "s", 3n), true],
    ["asked, not done", vm("s"), false],
    ["asked, another done", vm("s", "t", 4n), false],
    ["not asked", vm(undefined, "s", 4n), false],
  ])("a revert %s is done: %s", (_, machine, done) => {
    expect(revertDone(machine)).toBe(done);
  });

  it("a change applied keeps the revert the spec names and sends no status", () => {
    const next = vmToApply(vm("s", "s", 3n));
    expect(next.spec?.snapshot?.revertToRef?.name).toBe("s");
    expect(next.metadata?.resourceVersion).toBe("7");
    expect(next.status).toBeUndefined();
  });
});
