import { DiskType, ProviderError } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  type VirtualDeviceConfigSpec,
  type VirtualMachineConfigSpec,
  createVM,
} from "@virtrigaud/vsphere-sdk";
import type { VmBuild } from "./creations.js";
import { addDisk, addScsiController, attachDisk } from "./devices.js";
import { type NewVm, addNics, newVmConfig } from "./new-vm.js";
import { datastoresOfPool, emptiest } from "./placement.js";
import type { VsphereContext } from "./vsphere-context.js";

/** The guest OS of VMs made from scratch. */
const scratchGuestId = "otherLinux64Guest";

/** SCSI units for the disks of a VM made from scratch, in order: 7 is the controller's own. */
const units = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/**
 * The config spec of a VM made from scratch on the datastore `datastoreName`:
 * a paravirtual SCSI controller with the root disk (an imported disk attached
 * as it is, or a new thin one when the request sizes one) and the data disks
 * (imported or new), the request's NICs, and the config every new
 * VM gets.
 */
export function scratchSpec(
  vm: NewVm,
  datastoreName: string,
  hotAdd: boolean,
): VirtualMachineConfigSpec {
  const { request } = vm;
  const change: VirtualDeviceConfigSpec[] = [addScsiController(-100)];
  const diskNames: string[] = [];
  let unit = 0;
  const root = vm.adopted?.root;
  if (root) {
    change.push(attachDisk(-200, -100, units[unit++]!, root.capacityKB, root.fileName));
    diskNames.push("root");
  } else if (request.rootDiskSizeGib) {
    change.push(
      addDisk(-200, -100, units[unit++]!, request.rootDiskSizeGib, DiskType.THIN, datastoreName),
    );
    diskNames.push("root");
  }
  request.disks.forEach((d, i) => {
    const adopted = vm.adopted?.disks[i];
    change.push(
      adopted
        ? attachDisk(-201 - i, -100, units[unit++]!, adopted.capacityKB, adopted.fileName)
        : addDisk(-201 - i, -100, units[unit++]!, d.sizeGib, d.type, datastoreName),
    );
    diskNames.push(d.name);
  });
  change.push(...addNics(vm));
  return {
    name: request.name,
    instanceUuid: vm.vmId,
    guestId: scratchGuestId,
    files: { vmPathName: `[${datastoreName}]` },
    ...newVmConfig(vm, hotAdd, change, diskNames),
  };
}

/**
 * A Create without an image: CreateVM_Task on the placement's datastore, or
 * the emptiest one the resource pool's hosts can use.
 *
 * @throws ProviderError UNAVAILABLE (failing the task) when the pool reaches no datastore.
 */
export function fromScratch(ctx: VsphereContext, vm: NewVm): VmBuild {
  const { client } = ctx;
  const { placement } = vm;
  return {
    description: `create ${vm.request.name}`,
    async make(signal, progress) {
      const datastore =
        placement.datastore ??
        (await ctx.call(signal, async () =>
          emptiest(client, await datastoresOfPool(client, placement.pool, { signal }), {
            signal,
          }),
        ));
      if (!datastore)
        throw ProviderError.unavailable("no datastore is reachable from the chosen resource pool");
      const spec = scratchSpec(vm, datastore.name, ctx.hotAdd);
      const info = await ctx.step(
        signal,
        () => createVM(client, placement.folder, spec, placement.pool, placement.host, { signal }),
        { report: progress, from: 0, to: 85 },
      );
      return info.result as ManagedObjectReference;
    },
  };
}
