import {
  type Resource,
  type VirtualMachine,
  type WatchResponse,
  WatchEventType,
} from "@virtrigaud/proto/manager";

/** VMs by "namespace/name", as the manager last said. */
export type VmsByKey = Map<string, VirtualMachine>;

export function vmKey(vm: VirtualMachine): string {
  return `${vm.metadata?.namespace ?? ""}/${vm.metadata?.name ?? ""}`;
}

function vmOf(resource: Resource | undefined): VirtualMachine | undefined {
  return resource?.kind.case === "virtualMachine" ? resource.kind.value : undefined;
}

/** The VMs of a List answer. */
export function vmsOfList(resources: readonly Resource[]): VmsByKey {
  const vms: VmsByKey = new Map();
  for (const resource of resources) {
    const vm = vmOf(resource);
    if (vm) vms.set(vmKey(vm), vm);
  }
  return vms;
}

/**
 * Applies one watch event to `vms` in place; true when it changed them
 * (a BOOKMARK, or an event about another kind, does not).
 */
export function applyWatchEvent(vms: VmsByKey, event: WatchResponse): boolean {
  const vm = vmOf(event.resource);
  if (!vm) return false;
  switch (event.type) {
    case WatchEventType.ADDED:
    case WatchEventType.MODIFIED:
      vms.set(vmKey(vm), vm);
      return true;
    case WatchEventType.DELETED:
      return vms.delete(vmKey(vm));
    default:
      return false;
  }
}
