import { pageTokenAfter } from "@virtrigaud/contracts";
import { propertiesOf } from "@virtrigaud/vsphere-sdk";
import { consoleInfoOf, loadPortgroupNames } from "./describe-vm.js";
import { listInventory } from "./inventory-view.js";
import { portgroupKeysOf } from "./nics.js";
import { pageByName } from "./paging.js";
import { asText, toVirtualMachine } from "./vm-properties.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * ListVMs: every VM of the datacenter and the distributed port groups (for
 * NIC names) in one property-collector retrieval, not one call per VM;
 * templates and VMs without an instance UUID are left out.
 *
 * @throws ProviderError INVALID_SPEC for a page token the provider did not hand out.
 */
export const listVms: VsphereOperation<"listVMs"> = async (ctx, request, signal) => {
  const after = pageTokenAfter(request.pageToken);
  const objects = await listInventory(ctx, signal);
  for (const o of objects) {
    if (o.obj.type !== "DistributedVirtualPortgroup") continue;
    const values = propertiesOf(o);
    ctx.portgroupNames.set(asText(values["key"] ?? o.obj.value), asText(values["name"] ?? ""));
  }
  const vms = objects
    .filter((o) => o.obj.type === "VirtualMachine")
    .map((o) => ({ ref: o.obj, values: propertiesOf(o) }))
    .filter((vm) => vm.values["config.template"] !== true && vm.values["config.instanceUuid"])
    .map((vm) => ({ ...vm, name: asText(vm.values["name"] ?? "") }));
  const { page, nextPageToken } = pageByName(vms, request, after);
  await loadPortgroupNames(
    ctx,
    page.flatMap((vm) => portgroupKeysOf(vm.values)),
    signal,
  );
  const info = await consoleInfoOf(ctx, signal);
  for (const vm of page) ctx.refs.set(String(vm.values["config.instanceUuid"]), vm.ref);
  return {
    vms: page.map((vm) => toVirtualMachine(vm.ref, vm.values, ctx.portgroupNames, info)),
    nextPageToken,
  };
};
