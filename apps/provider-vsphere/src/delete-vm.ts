import { ProviderError } from "@virtrigaud/contracts";
import { destroyEntity, powerOffVM } from "@virtrigaud/vsphere-sdk";
import { vsphereTaskRef } from "./ids.js";
import { linkedClonesOf } from "./linked-clones.js";
import { lookupVm, stillBeingCreated } from "./vm-lookup.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * Delete: a VM that is off is one vSphere task (Destroy_Task); a running one
 * is a provider task that powers it off, then destroys it. A VM that is not
 * there is deleted already.
 *
 * @throws ProviderError RETRYABLE while the VM is still being created;
 * CONFLICT while linked clones use it.
 */
export const deleteVm: VsphereOperation<"delete"> = async (ctx, request, signal) => {
  const { client } = ctx;
  const vm = await lookupVm(ctx, request.vmId, signal);
  if (!vm) {
    if (ctx.creatingIds.has(request.vmId)) throw stillBeingCreated(request.vmId);
    return {};
  }
  const linked = await linkedClonesOf(ctx, request.vmId, undefined, signal);
  if (linked.length) {
    throw ProviderError.conflict(
      `vm ${request.vmId} has linked clones (${linked.join(", ")}); delete them first`,
    );
  }
  if (vm.values["runtime.powerState"] === "poweredOff") {
    return {
      task: vsphereTaskRef(await ctx.call(signal, () => destroyEntity(client, vm.ref, { signal }))),
    };
  }
  return {
    task: ctx.startTask(`delete ${String(vm.values["name"])}`, async (s, progress) => {
      await ctx.step(s, () => powerOffVM(client, vm.ref, { signal: s }), {
        report: progress,
        from: 0,
        to: 50,
      });
      await ctx.step(s, () => destroyEntity(client, vm.ref, { signal: s }), {
        report: progress,
        from: 50,
        to: 100,
      });
    }),
  };
};
