import { clone, create } from "@bufbuild/protobuf";
import {
  type VMSnapshot,
  VMSnapshotOperationSchema,
  VMSnapshotSchema,
  type VirtualMachine,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";

/** The API version of the manifests the manager accepts (`vrtg apply` writes the same). */
const manifestApiVersion = "infra.virtrigaud.io/v1beta1";

/** A new VMSnapshot `name` of `vm`, in its namespace, as `vrtg snapshot create VM NAME` applies it. */
export function snapshotOf(vm: VirtualMachine, name: string): VMSnapshot {
  return create(VMSnapshotSchema, {
    apiVersion: manifestApiVersion,
    kind: "VMSnapshot",
    metadata: { name, namespace: vm.metadata?.namespace ?? "" },
    spec: { vmRef: { name: vm.metadata?.name ?? "" } },
  });
}

/** The VMSnapshots of the VM `vmName` among `snapshots` (one namespace's), oldest first. */
export function snapshotsOfVm(snapshots: readonly VMSnapshot[], vmName: string): VMSnapshot[] {
  const created = (s: VMSnapshot) => s.metadata?.creationTimestamp?.seconds ?? 0n;
  return snapshots
    .filter((s) => s.spec?.vmRef?.name === vmName)
    .sort((a, b) => {
      const byTime = created(a) - created(b);
      if (byTime !== 0n) return byTime < 0n ? -1 : 1;
      return (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
    });
}

/**
 * True when the manager has done the revert the spec asks for (its
 * status.revertedTo names the snapshot). It reverts once for each snapshot
 * the spec names: later changes of the spec (a power action) do not revert
 * again.
 */
export function revertDone(vm: VirtualMachine): boolean {
  const asked = vm.spec?.snapshot?.revertToRef?.name;
  return !!asked && vm.status?.revertedTo === asked;
}

/**
 * `vm` as it goes back to the manager: without its status (the manager's) and
 * with its resourceVersion (a VM changed meanwhile is refused, not
 * overwritten). A revert the spec names stays: once done, it is not done again.
 */
export function vmToApply(vm: VirtualMachine): VirtualMachine {
  const next = clone(VirtualMachineSchema, vm);
  next.status = undefined;
  return next;
}

/**
 * The VMs to apply to revert `vm` to the snapshot `name`: its
 * spec.snapshot.revertToRef set. When the spec names that snapshot and the
 * revert is done, naming it again would change nothing: the first apply
 * clears it, and once the manager has forgotten the revert (status.revertedTo
 * empty) `second` sets it again on the VM as it is then.
 */
export function revertPlan(
  vm: VirtualMachine,
  name: string,
): { first: VirtualMachine; second?: (forgotten: VirtualMachine) => VirtualMachine } {
  const withRevert = (from: VirtualMachine) => {
    const next = vmToApply(from);
    if (next.spec)
      next.spec.snapshot = create(VMSnapshotOperationSchema, { revertToRef: { name } });
    return next;
  };
  if (vm.spec?.snapshot?.revertToRef?.name !== name || !revertDone(vm))
    return { first: withRevert(vm) };
  const cleared = vmToApply(vm);
  if (cleared.spec) cleared.spec.snapshot = undefined;
  return { first: cleared, second: withRevert };
}
