import { retrieveMany } from "@virtrigaud/vsphere-sdk";
import { portgroupKeysOf } from "./nics.js";
import { type ConsoleInfo, asText, toVirtualMachine } from "./vm-properties.js";
import { type FoundVm, lookupVm } from "./vm-lookup.js";
import type { VsphereContext, VsphereOperation } from "./vsphere-context.js";

/** What console URLs are made of: vCenter's host and its instance UUID, read once. */
export async function consoleInfoOf(
  ctx: VsphereContext,
  signal: AbortSignal,
): Promise<ConsoleInfo> {
  if (ctx.cache.console) return ctx.cache.console;
  const content = await ctx.call(signal, () => ctx.client.serviceContent({ signal }));
  ctx.cache.console = { host: ctx.consoleHost, serverGuid: content.about.instanceUuid ?? "" };
  return ctx.cache.console;
}

/** Fills in the names of distributed port groups the VMs' NICs use, one round trip for the missing. */
export async function loadPortgroupNames(
  ctx: VsphereContext,
  keys: string[],
  signal: AbortSignal,
): Promise<void> {
  const { portgroupNames } = ctx;
  const missing = [...new Set(keys)].filter((k) => !portgroupNames.has(k));
  if (!missing.length) return;
  const found = await ctx.call(signal, () =>
    retrieveMany(
      ctx.client,
      missing.map((value) => ({ type: "DistributedVirtualPortgroup", value })),
      ["name"],
      { signal },
    ),
  );
  for (const { obj, values } of found)
    portgroupNames.set(obj.value, asText(values["name"] ?? obj.value));
}

/** The VirtualMachine message of a VM found by id. */
async function describeVm(ctx: VsphereContext, vm: FoundVm, signal: AbortSignal) {
  await loadPortgroupNames(ctx, portgroupKeysOf(vm.values), signal);
  return toVirtualMachine(vm.ref, vm.values, ctx.portgroupNames, await consoleInfoOf(ctx, signal));
}

/** Describe: one property retrieval of the VM (FindByUuid first when its reference is not cached). */
export const describe: VsphereOperation<"describe"> = async (ctx, request, signal) => {
  const vm = await lookupVm(ctx, request.vmId, signal);
  if (!vm) return { exists: false };
  return { exists: true, vm: await describeVm(ctx, vm, signal) };
};
