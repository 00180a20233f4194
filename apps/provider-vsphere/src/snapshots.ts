import { ProviderError } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  type VirtualMachineSnapshotTree,
  createSnapshot,
  removeSnapshot,
  retrieveOne,
  revertToSnapshot,
  waitForTask,
} from "@virtrigaud/vsphere-sdk";
import { vsphereTaskRef } from "./ids.js";
import { linkedClonesOf } from "./linked-clones.js";
import {
  type SnapshotEntry,
  findSnapshot,
  flattenSnapshots,
  snapshotIdOf,
  snapshotsByTime,
} from "./snapshot-tree.js";
import { findVm } from "./vm-lookup.js";
import type { VsphereContext, VsphereOperation } from "./vsphere-context.js";

/** The snapshots of a VM, flattened, each before its children. */
export async function snapshotsOf(
  ctx: VsphereContext,
  ref: ManagedObjectReference,
  signal: AbortSignal,
): Promise<SnapshotEntry[]> {
  const values = await ctx.call(signal, () =>
    retrieveOne(ctx.client, ref, ["snapshot"], { signal }),
  );
  const info = values["snapshot"] as
    { rootSnapshotList?: VirtualMachineSnapshotTree[] } | undefined;
  return flattenSnapshots(info?.rootSnapshotList);
}

/**
 * The snapshot `snapshotId` of the VM `vmId` at `ref`.
 *
 * @throws ProviderError NOT_FOUND when the VM has no such snapshot.
 */
export async function requireSnapshot(
  ctx: VsphereContext,
  vmId: string,
  ref: ManagedObjectReference,
  snapshotId: string,
  signal: AbortSignal,
): Promise<SnapshotEntry> {
  const snapshot = findSnapshot(await snapshotsOf(ctx, ref, signal), snapshotId);
  if (!snapshot) throw ProviderError.notFound(`vm ${vmId} has no snapshot ${snapshotId}`);
  return snapshot;
}

/**
 * SnapshotCreate: one vSphere task, one at a time per VM. A snapshot of the
 * same name answers with its id (and its task while that runs). Memory and
 * quiescing apply only to a running VM, and a memory snapshot needs no quiescing.
 *
 * @throws ProviderError NOT_FOUND for an unknown VM.
 */
export const snapshotCreate: VsphereOperation<"snapshotCreate"> = (ctx, request, signal) => {
  const { client, snapshotting } = ctx;
  return ctx.perVm.run(
    request.vmId,
    async () => {
      const vm = await findVm(ctx, request.vmId, signal);
      const snapshots = await snapshotsOf(ctx, vm.ref, signal);
      const existing = snapshots.find((s) => s.tree.name === request.name);
      const key = `${request.vmId}/${request.name}`;
      if (existing) {
        const running = snapshotting.get(key);
        return {
          snapshotId: snapshotIdOf(existing, snapshots),
          ...(running ? { task: running } : {}),
        };
      }
      const on = vm.values["runtime.powerState"] === "poweredOn";
      const task = await ctx.call(signal, () =>
        createSnapshot(
          client,
          vm.ref,
          {
            name: request.name,
            description: request.description,
            memory: request.includeMemory && on,
            quiesce: request.quiesce && on && !request.includeMemory,
          },
          { signal },
        ),
      );
      const ref = vsphereTaskRef(task);
      snapshotting.set(key, ref);
      // Forget the task once it is done, so a later call reads the snapshot itself.
      void waitForTask(client, task)
        .catch(() => {})
        .finally(() => snapshotting.delete(key));
      return { snapshotId: request.name, task: ref };
    },
    signal,
  );
};

/**
 * SnapshotRevert: one vSphere task.
 *
 * @throws ProviderError NOT_FOUND for an unknown VM or snapshot.
 */
export const snapshotRevert: VsphereOperation<"snapshotRevert"> = async (ctx, request, signal) => {
  const vm = await findVm(ctx, request.vmId, signal);
  const snapshot = await requireSnapshot(ctx, request.vmId, vm.ref, request.snapshotId, signal);
  return {
    task: vsphereTaskRef(
      await ctx.call(signal, () =>
        revertToSnapshot(ctx.client, snapshot.tree.snapshot, { signal }),
      ),
    ),
  };
};

/**
 * SnapshotDelete: one vSphere task (its children stay); a snapshot that is
 * not there is deleted already.
 *
 * @throws ProviderError CONFLICT while the provider's linked clones use the
 * snapshot; NOT_FOUND for an unknown VM.
 */
export const snapshotDelete: VsphereOperation<"snapshotDelete"> = async (ctx, request, signal) => {
  const vm = await findVm(ctx, request.vmId, signal);
  const snapshot = findSnapshot(await snapshotsOf(ctx, vm.ref, signal), request.snapshotId);
  if (!snapshot) return {};
  const linked = await linkedClonesOf(ctx, request.vmId, snapshot.tree.name, signal);
  if (linked.length) {
    throw ProviderError.conflict(
      `snapshot ${request.snapshotId} backs linked clones (${linked.join(", ")})`,
    );
  }
  return {
    task: vsphereTaskRef(
      await ctx.call(signal, () =>
        removeSnapshot(ctx.client, snapshot.tree.snapshot, false, { signal }),
      ),
    ),
  };
};

/**
 * SnapshotList: the VM's snapshots, oldest first.
 *
 * @throws ProviderError NOT_FOUND for an unknown VM.
 */
export const snapshotList: VsphereOperation<"snapshotList"> = async (ctx, request, signal) => {
  const vm = await findVm(ctx, request.vmId, signal);
  return { snapshots: snapshotsByTime(await snapshotsOf(ctx, vm.ref, signal)) };
};
