import { SnapshotPhase, type VMSnapshot, type VirtualMachine } from "@virtrigaud/proto/manager";
import { revertDone } from "./snapshot-manifests";

/** What a snapshot's row offers: each action, or why not (for people). */
export interface SnapshotActions {
  revert: true | string;
  delete: true | string;
}

/**
 * Which actions `snap` allows on `vm`: nothing while it is deleted; revert
 * only to a Ready snapshot taken of this VM as it is now (the provider's id
 * of the VM is the one recorded with the snapshot; the manager refuses
 * others), and not while a revert to it is under way.
 */
export function snapshotActions(snap: VMSnapshot, vm: VirtualMachine): SnapshotActions {
  if (snap.metadata?.deletionTimestamp) return { revert: "being deleted", delete: "being deleted" };
  const name = snap.metadata?.name ?? "";
  const status = snap.status;
  let revert: true | string = true;
  if (status?.phase !== SnapshotPhase.READY || !status.snapshotId) revert = "not ready";
  else if (!vm.status?.id || status.vmId !== vm.status.id) revert = "taken of another VM";
  else if (vm.metadata?.deletionTimestamp) revert = "the VM is being deleted";
  else if (vm.spec?.snapshot?.revertToRef?.name === name && !revertDone(vm)) revert = "reverting";
  return { revert, delete: true };
}
