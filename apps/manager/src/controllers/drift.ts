import type { VirtualMachine as ProviderVm } from "@virtrigaud/contracts";
import { Kind, PowerState, type VirtualMachine } from "@virtrigaud/proto/manager";
import { msOf } from "../store/resource-store.js";
import type { ControllerContext } from "./context.js";
import { providerKeyOf } from "./references.js";
import { observedPower } from "./vocabulary.js";
import { ownerLabels } from "./resolve-vm.js";
import { guestAddresses } from "./address-policy.js";

/** A comparable form of a VM's addresses: address, source and MAC of each, in order. */
function addressKey(
  addresses: ReadonlyArray<{ address: string; source: number; macAddress: string }>,
) {
  return addresses.map((a) => `${a.address}/${a.source}/${a.macAddress}`).join(",");
}

/**
 * Compares a full ListVMs sweep of one provider with the VirtualMachines
 * bound to it, and reconciles only those that drifted: a power state or
 * resources other than last observed, a VM gone (when it was bound before
 * the sweep began), or guest addresses (or their sources) other than last
 * observed. A VM at the provider with the manager's labels whose
 * resource has no id yet is a create whose answer was lost: that resource is
 * reconciled (one that carries another resource's uid is not). One with no
 * resource at all is logged as a warning.
 */
export function detectDrift(
  ctx: ControllerContext,
  providerKey: string,
  listed: ProviderVm[],
  startedAt: number,
): void {
  const byId = new Map(listed.map((vm) => [vm.id, vm]));
  const known = new Set<string>();
  for (const m of ctx.store.list(Kind.VIRTUAL_MACHINE)) {
    const vm = m as VirtualMachine;
    const status = vm.status;
    if (!status?.id || providerKeyOf(vm) !== providerKey) continue;
    known.add(status.id);
    if (status.lastTaskRef || vm.metadata?.deletionTimestamp) continue;
    const key = `${vm.metadata?.namespace}/${vm.metadata?.name}`;
    const seen = byId.get(status.id);
    if (!seen) {
      const created = msOf(vm.metadata?.creationTimestamp) ?? 0;
      if (created < startedAt) ctx.queues.vm.add(key);
      continue;
    }
    const desired = vm.spec?.powerState || PowerState.ON;
    const power = observedPower(seen.powerState);
    const drifted =
      power !== status.powerState ||
      (seen.resources?.cpu ?? 0) !== (status.currentResources?.cpu ?? 0) ||
      (seen.resources?.memoryMib ?? 0) !== (status.currentResources?.memoryMib ?? 0) ||
      (desired === PowerState.ON && power !== PowerState.ON) ||
      addressKey(guestAddresses(seen.ipAddresses)) !== addressKey(status.addresses);
    if (drifted) ctx.queues.vm.add(key);
  }
  for (const vm of listed) {
    if (known.has(vm.id) || !vm.labels[ownerLabels.uid]) continue;
    const ns = vm.labels[ownerLabels.namespace] ?? "default";
    const name = vm.labels[ownerLabels.name] ?? "";
    const existing = ctx.store.get(Kind.VIRTUAL_MACHINE, ns, name) as VirtualMachine | undefined;
    if (existing) {
      // A create whose answer was lost: reconciling finds it again by name.
      // (A VM of the same name that carries another uid is another manager's:
      // the resource says so already, and waking it each sweep would not change that.)
      if (!existing.status?.id && vm.labels[ownerLabels.uid] === existing.metadata?.uid)
        ctx.queues.vm.add(`${ns}/${name}`);
      continue;
    }
    ctx.logger.warn(
      { provider: providerKey, vm: vm.name, id: vm.id },
      "a VM labelled as the manager's has no VirtualMachine",
    );
  }
}
