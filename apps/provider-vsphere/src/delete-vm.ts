import { ProviderError } from "@virtrigaud/contracts";
import { destroyEntity, powerOffVM } from "@virtrigaud/vsphere-sdk";
import { importIdOfFile } from "./adopted-disks.js";
import { removeImportedDisk } from "./disk-import-abort.js";
import { diskFileName } from "./disk-infos.js";
import { vsphereTaskRef } from "./ids.js";
import { linkedClonesOf } from "./linked-clones.js";
import { lookupVm, stillBeingCreated } from "./vm-lookup.js";
import { disksOf } from "./vm-properties.js";
import type { VsphereContext, VsphereOperation } from "./vsphere-context.js";

/**
 * Removes what is left of the imports a deleted VM had adopted: their
 * directories on the datastore (vCenter's Destroy_Task deletes the disks'
 * files, vcsim's only the VM's own directory) and their records.
 */
async function removeAdoptedImports(
  ctx: VsphereContext,
  importIds: string[],
  signal: AbortSignal,
): Promise<void> {
  for (const id of importIds) {
    const record = await ctx.staging.readImport(id);
    if (!record) continue;
    await removeImportedDisk(ctx, record, signal);
    await ctx.staging.removeImport(id);
  }
}

/**
 * Delete: a VM that is off is one vSphere task (Destroy_Task); a running one,
 * or one with imported disks, is a provider task that powers it off, destroys
 * it, and removes what is left of its imports. A VM that is not
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
  const importIds = disksOf(vm.values).flatMap(({ disk }) => {
    const id = importIdOfFile(diskFileName(disk));
    return id === undefined ? [] : [id];
  });
  if (vm.values["runtime.powerState"] === "poweredOff" && importIds.length === 0) {
    return {
      task: vsphereTaskRef(await ctx.call(signal, () => destroyEntity(client, vm.ref, { signal }))),
    };
  }
  return {
    task: ctx.startTask(`delete ${String(vm.values["name"])}`, async (s, progress) => {
      if (vm.values["runtime.powerState"] !== "poweredOff") {
        await ctx.step(s, () => powerOffVM(client, vm.ref, { signal: s }), {
          report: progress,
          from: 0,
          to: 50,
        });
      }
      await ctx.step(s, () => destroyEntity(client, vm.ref, { signal: s }), {
        report: progress,
        from: 50,
        to: 90,
      });
      await removeAdoptedImports(ctx, importIds, s);
    }),
  };
};
