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
 * True when the manager has done the revert the spec asks for: it reverts
 * once per generation of the spec, so a spec that still names the snapshot
 * would revert again at its next change (a power action, say).
 */
export function revertDone(vm: VirtualMachine): boolean {
  const asked = vm.spec?.snapshot?.revertToRef?.name;
  return (
    !!asked &&
    vm.status?.revertedTo === asked &&
    vm.status.revertedGeneration === (vm.metadata?.generation ?? 0n)
  );
}

/**
 * `vm` as it goes back to the manager: without its status (the manager's),
 * with its resourceVersion (a VM changed meanwhile is refused, not
 * overwritten), and without a revert already done, so that the change being
 * asked for does not revert the VM once more.
 */
export function vmToApply(vm: VirtualMachine): VirtualMachine {
  const next = clone(VirtualMachineSchema, vm);
  next.status = undefined;
  if (next.spec && revertDone(vm)) next.spec.snapshot = undefined;
  return next;
}

/**
 * The VMs to apply, in order, to revert `vm` to the snapshot `name`: its
 * spec.snapshot.revertToRef set. When the spec names that snapshot already
 * (an earlier revert), setting it again would change nothing, so the first
 * apply clears it and the second sets it; `second` makes the second from the
 * VM the first stored (its new resourceVersion).
 */
export function revertPlan(
  vm: VirtualMachine,
  name: string,
): { first: VirtualMachine; second?: (stored: VirtualMachine) => VirtualMachine } {
  const withRevert = (from: VirtualMachine) => {
    const next = vmToApply(from);
    if (next.spec)
      next.spec.snapshot = create(VMSnapshotOperationSchema, { revertToRef: { name } });
    return next;
  };
  if (vm.spec?.snapshot?.revertToRef?.name !== name) return { first: withRevert(vm) };
  const cleared = vmToApply(vm);
  if (cleared.spec) cleared.spec.snapshot = undefined;
  return { first: cleared, second: withRevert };
}
