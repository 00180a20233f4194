import { ProviderError } from "@virtrigaud/contracts";
import type { LibvirtOperation } from "./libvirt-context.js";
import { checkSnapshotRequest } from "./request-checks.js";
import {
  checkSnapshotable,
  listSnapshots,
  revertSnapshot,
  takeSnapshot,
  toSnapshot,
} from "./snapshots.js";
import { vmTask } from "./vm-tasks.js";

/**
 * SnapshotCreate: once per name within the VM (snapshots are known by name);
 * a task holding the VM takes it.
 *
 * @throws ProviderError INVALID_SPEC for a name libvirt cannot take, or a
 * domain whose disks cannot be snapshotted; RETRYABLE while another
 * operation holds the VM.
 */
export const snapshotCreate: LibvirtOperation<"snapshotCreate"> = async (ctx, request, signal) => {
  checkSnapshotRequest(request);
  const view = await ctx.findManaged(request.vmId, signal);
  const existing = await listSnapshots(ctx, view.info.uuid, signal);
  if (existing.some((s) => s.name === request.name)) return { snapshotId: request.name };
  // Refused by the call, not by its task: nothing is started.
  checkSnapshotable(view);
  const task = vmTask(ctx, view, `snapshot ${request.name} of`, (taskSignal) =>
    takeSnapshot(
      ctx,
      view,
      request.name,
      request.description,
      request.includeMemory,
      request.quiesce,
      taskSignal,
    ),
  );
  return { snapshotId: request.name, task };
};

/**
 * SnapshotDelete: a snapshot that does not exist is deleted already;
 * otherwise a task holding the VM deletes it.
 *
 * @throws ProviderError RETRYABLE while another operation holds the VM.
 */
export const snapshotDelete: LibvirtOperation<"snapshotDelete"> = async (ctx, request, signal) => {
  const view = await ctx.findManaged(request.vmId, signal);
  const existing = await listSnapshots(ctx, view.info.uuid, signal);
  if (!existing.some((s) => s.name === request.snapshotId)) return {};
  const task = vmTask(ctx, view, `delete snapshot ${request.snapshotId} of`, async (taskSignal) => {
    const [outcome] = await ctx.host.virsh(
      [["snapshot-delete", { domain: view.info.uuid, snapshotname: request.snapshotId }]],
      { signal: taskSignal },
    );
    if (outcome?.error && !/not found|no domain snapshot/i.test(outcome.error)) {
      throw ProviderError.internal(
        `delete snapshot ${request.snapshotId} failed: ${outcome.error}`,
      );
    }
  });
  return { task };
};

/**
 * SnapshotRevert: a task holding the VM reverts it to the snapshot.
 *
 * @throws ProviderError NOT_FOUND for an unknown snapshot; RETRYABLE while
 * another operation holds the VM.
 */
export const snapshotRevert: LibvirtOperation<"snapshotRevert"> = async (ctx, request, signal) => {
  const view = await ctx.findManaged(request.vmId, signal);
  const snapshot = (await listSnapshots(ctx, view.info.uuid, signal)).find(
    (s) => s.name === request.snapshotId,
  );
  if (!snapshot)
    throw ProviderError.notFound(`vm ${view.info.name} has no snapshot ${request.snapshotId}`);
  const task = vmTask(ctx, view, `revert to ${snapshot.name}`, (taskSignal) =>
    revertSnapshot(ctx, view, snapshot, taskSignal),
  );
  return { task };
};

/**
 * SnapshotList: the domain's snapshots, oldest first.
 *
 * @throws ProviderError NOT_FOUND for an unknown VM.
 */
export const snapshotList: LibvirtOperation<"snapshotList"> = async (ctx, request, signal) => {
  const view = await ctx.find(request.vmId, signal);
  const snapshots = await listSnapshots(ctx, view.info.uuid, signal);
  return { snapshots: snapshots.map(toSnapshot) };
};
