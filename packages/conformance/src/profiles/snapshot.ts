import { ErrorReason, PowerOperation, PowerState } from "@virtrigaud/contracts";
import { check, checkEqual, expectReason, expectSuccess } from "../suite/checks.js";
import type { CaseContext, ConformanceCase, Profile } from "../suite/types.js";

export const snapshotProfile: Profile = {
  name: "snapshot",
  description: "Create, list, revert to the earlier state, delete; memory snapshots when declared",
  declared: (c) => c.snapshots,
};

const UNSUPPORTED = [ErrorReason.UNSUPPORTED];

/** SnapshotCreate, following its task; the snapshot's id. */
export async function takeSnapshot(
  t: CaseContext,
  vmId: string,
  name: string,
  includeMemory = false,
) {
  const { snapshotId, task } = await expectSuccess(
    t.client.snapshotCreate({ vmId, name, includeMemory }, { signal: t.signal }),
    `SnapshotCreate ${name}`,
  );
  check(snapshotId, `SnapshotCreate ${name} returned no snapshot_id`);
  await expectSuccess(t.wait(task), `the task of SnapshotCreate ${name}`);
  return snapshotId;
}

export const snapshotCases: ConformanceCase[] = [
  {
    id: "snapshot/lifecycle",
    profile: "snapshot",
    title: "Snapshot, change, revert to the earlier state, list, delete",
    declared: (c) => c.snapshots,
    async run(t) {
      const vmId = await t.createVm("snap", { class: { cpu: 1, memoryMib: 256 } });
      const snapshotId = await takeSnapshot(t, vmId, "before");
      await t.runTask(t.client.reconfigure({ vmId, cpu: 2 }, { signal: t.signal }), "Reconfigure");
      await t.eventually(
        vmId,
        "Describe shows cpu 2 before the revert",
        (vm) => vm.resources?.cpu === 2,
      );
      await t.runTask(
        t.client.snapshotRevert({ vmId, snapshotId }, { signal: t.signal }),
        "SnapshotRevert",
      );
      await t.eventually(
        vmId,
        "Describe shows cpu 1 again after the revert",
        (vm) => vm.resources?.cpu === 1,
      );
      const { snapshots } = await expectSuccess(
        t.client.snapshotList({ vmId }, { signal: t.signal }),
        "SnapshotList",
      );
      checkEqual(
        snapshots.map((s) => [s.id, s.name]),
        [[snapshotId, "before"]],
        "SnapshotList",
      );
      await t.runTask(
        t.client.snapshotDelete({ vmId, snapshotId }, { signal: t.signal }),
        "SnapshotDelete",
      );
      checkEqual(
        (await t.client.snapshotList({ vmId }, { signal: t.signal })).snapshots,
        [],
        "SnapshotList after delete",
      );
      await t.runTask(
        t.client.snapshotDelete({ vmId, snapshotId }, { signal: t.signal }),
        "a second SnapshotDelete",
      );
    },
    async unsupported(t) {
      const vmId = await t.createVm("snap");
      await expectReason(
        t.client.snapshotCreate({ vmId, name: "s" }, { signal: t.signal }),
        UNSUPPORTED,
        "SnapshotCreate",
      );
      await expectReason(
        t.client.snapshotList({ vmId }, { signal: t.signal }),
        UNSUPPORTED,
        "SnapshotList",
      );
    },
  },
  {
    id: "snapshot/idempotent",
    profile: "snapshot",
    title: "SnapshotCreate twice with one name gives one snapshot; a VM with snapshots deletes",
    declared: (c) => c.snapshots,
    async run(t) {
      const vmId = await t.createVm("snaptwice");
      const first = await takeSnapshot(t, vmId, "once");
      const second = await takeSnapshot(t, vmId, "once");
      checkEqual(second, first, "the snapshot_id of the second SnapshotCreate");
      checkEqual(
        (await t.client.snapshotList({ vmId }, { signal: t.signal })).snapshots.length,
        1,
        "snapshots listed",
      );
      await t.runTask(
        t.client.delete({ vmId }, { signal: t.signal }),
        "Delete of a VM with a snapshot",
      );
      const { exists } = await t.client.describe({ vmId }, { signal: t.signal });
      check(!exists, "a VM with a snapshot still exists after its Delete");
    },
    async unsupported(t) {
      const vmId = await t.createVm("snaptwice");
      await expectReason(
        t.client.snapshotDelete({ vmId, snapshotId: "s-1" }, { signal: t.signal }),
        UNSUPPORTED,
        "SnapshotDelete",
      );
      await expectReason(
        t.client.snapshotRevert({ vmId, snapshotId: "s-1" }, { signal: t.signal }),
        UNSUPPORTED,
        "SnapshotRevert",
      );
    },
  },
  {
    id: "snapshot/memory",
    profile: "snapshot",
    title:
      "A memory snapshot of a running VM reverts to it running, when memory snapshots are declared",
    declared: (c) => c.memorySnapshots,
    async run(t) {
      const vmId = await t.createVm("memsnap", { powerOn: true });
      await t.eventually(vmId, "the VM is on", (vm) => vm.powerState === PowerState.ON);
      const snapshotId = await takeSnapshot(t, vmId, "running", true);
      const listed = (await t.client.snapshotList({ vmId }, { signal: t.signal })).snapshots.find(
        (s) => s.id === snapshotId,
      );
      check(listed?.includeMemory, "SnapshotList does not say the snapshot includes memory");
      await t.wait(
        (await t.client.power({ vmId, operation: PowerOperation.OFF }, { signal: t.signal })).task,
      );
      await t.eventually(vmId, "the VM is off", (vm) => vm.powerState === PowerState.OFF);
      await t.runTask(
        t.client.snapshotRevert({ vmId, snapshotId }, { signal: t.signal }),
        "SnapshotRevert",
      );
      await t.eventually(
        vmId,
        "the VM runs again after reverting to a memory snapshot",
        (vm) => vm.powerState === PowerState.ON,
      );
    },
    async unsupported(t) {
      const vmId = await t.createVm("memsnap", { powerOn: true });
      await expectReason(
        t.client.snapshotCreate({ vmId, name: "m", includeMemory: true }, { signal: t.signal }),
        UNSUPPORTED,
        "SnapshotCreate with include_memory",
      );
    },
  },
];
