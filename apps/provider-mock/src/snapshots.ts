import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PowerState, ProviderError } from "@virtrigaud/contracts";
import { copyConfig } from "./machine-config.js";
import { fileBytes } from "./vm-disks.js";
import {
  type MockContext,
  type MockOperation,
  findVm,
  linkedClonesOf,
  readyVm,
  runTask,
} from "./mock-context.js";
import type { SnapshotRecord, VmRecord } from "./vm-record.js";

/** Records a snapshot of the VM as it is now, on top of its current one. Memory only when it runs. */
export function takeSnapshot(
  ctx: MockContext,
  vm: VmRecord,
  name: string,
  description: string,
  includeMemory: boolean,
): SnapshotRecord {
  const snapshot: SnapshotRecord = {
    id: ctx.store.newId("snap"),
    name,
    description,
    includeMemory: includeMemory && vm.powerState === PowerState.ON,
    parentId: vm.currentSnapshotId,
    powerState: vm.powerState,
    createTime: ctx.clock.now(),
    config: copyConfig(vm.config),
  };
  vm.snapshots.push(snapshot);
  vm.currentSnapshotId = snapshot.id;
  ctx.disks.guest.mark(vm.id, snapshot.id);
  // A running guest goes on writing after the snapshot.
  const boot = vm.config.disks[0];
  if (vm.powerState === PowerState.ON && boot)
    ctx.disks.guest.write(vm.id, boot.name, fileBytes(ctx.disks, boot));
  return snapshot;
}

/**
 * SnapshotCreate: once per name within the VM; a repeat answers with the
 * snapshot (and its task while that runs). The snapshot is recorded at once
 * and removed again if its task fails.
 *
 * @throws ProviderError as `readyVm` does.
 */
export const snapshotCreate: MockOperation<"snapshotCreate"> = (ctx, request) => {
  const vm = readyVm(ctx, request.vmId);
  const existing = vm.snapshots.find((s) => s.name === request.name);
  if (existing) {
    const running = ctx.snapshotTasks.get(existing.id);
    return Promise.resolve({
      snapshotId: existing.id,
      ...(running ? { task: { id: running } } : {}),
    });
  }
  const snapshot = takeSnapshot(ctx, vm, request.name, request.description, request.includeMemory);
  const task = runTask(
    ctx,
    "snapshotCreate",
    `snapshot ${vm.name} as ${request.name}`,
    () => {
      ctx.snapshotTasks.delete(snapshot.id);
    },
    () => {
      ctx.snapshotTasks.delete(snapshot.id);
      vm.snapshots = vm.snapshots.filter((s) => s !== snapshot);
      vm.currentSnapshotId = snapshot.parentId;
    },
  );
  ctx.snapshotTasks.set(snapshot.id, task.id);
  return Promise.resolve({ snapshotId: snapshot.id, task });
};

/**
 * SnapshotRevert: a task restores the snapshot's configuration, and its power
 * state when it holds memory (else the VM is off).
 *
 * @throws ProviderError NOT_FOUND for an unknown snapshot; as `readyVm` does.
 */
export const snapshotRevert: MockOperation<"snapshotRevert"> = (ctx, request) => {
  const vm = readyVm(ctx, request.vmId);
  const snapshot = vm.snapshots.find((s) => s.id === request.snapshotId);
  if (!snapshot) throw ProviderError.notFound(`vm ${vm.id} has no snapshot ${request.snapshotId}`);
  const task = runTask(ctx, "snapshotRevert", `revert ${vm.name} to ${snapshot.name}`, () => {
    vm.config = copyConfig(snapshot.config);
    vm.pending = undefined;
    vm.powerState = snapshot.includeMemory ? snapshot.powerState : PowerState.OFF;
    vm.currentSnapshotId = snapshot.id;
  });
  return Promise.resolve({ task });
};

/**
 * SnapshotDelete: a snapshot that does not exist is deleted already;
 * otherwise a task removes it, its children moving up to its parent.
 *
 * @throws ProviderError CONFLICT while linked clones sit on it; as `readyVm` does.
 */
export const snapshotDelete: MockOperation<"snapshotDelete"> = (ctx, request) => {
  const vm = readyVm(ctx, request.vmId);
  const snapshot = vm.snapshots.find((s) => s.id === request.snapshotId);
  if (!snapshot) return Promise.resolve({});
  const clones = linkedClonesOf(ctx, vm, snapshot.id);
  if (clones.length) {
    throw ProviderError.conflict(
      `snapshot ${snapshot.id} backs linked clones (${clones.map((c) => c.name).join(", ")})`,
    );
  }
  const task = runTask(
    ctx,
    "snapshotDelete",
    `delete snapshot ${snapshot.name} of ${vm.name}`,
    () => {
      vm.snapshots = vm.snapshots.filter((s) => s !== snapshot);
      for (const child of vm.snapshots)
        if (child.parentId === snapshot.id) child.parentId = snapshot.parentId;
      if (vm.currentSnapshotId === snapshot.id) vm.currentSnapshotId = snapshot.parentId;
    },
  );
  return Promise.resolve({ task });
};

/**
 * SnapshotList: the VM's snapshots, oldest first.
 *
 * @throws ProviderError NOT_FOUND for an unknown VM.
 */
export const snapshotList: MockOperation<"snapshotList"> = (ctx, request) => {
  const vm = findVm(ctx, request.vmId);
  return Promise.resolve({
    snapshots: vm.snapshots.map((s) => ({
      id: s.id,
      name: s.name,
      description: s.description,
      includeMemory: s.includeMemory,
      parentId: s.parentId,
      powerState: s.powerState,
      createTime: timestampFromMs(s.createTime),
    })),
  });
};
