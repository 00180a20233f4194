import { ProviderError } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  type PropertyValues,
  type VirtualDeviceConfigSpec,
  type VirtualMachineConfigSpec,
  cloneVM,
  reconfigureVM,
  retrieveOne,
} from "@virtrigaud/vsphere-sdk";
import type { VmBuild } from "./creations.js";
import {
  addDisk,
  addScsiController,
  devicesOf,
  growDisk,
  removeDevice,
  scsiSlots,
} from "./devices.js";
import { type NewVm, addNics, newVmConfig } from "./new-vm.js";
import { isEthernetCard } from "./nics.js";
import { relocateSpec } from "./placement.js";
import { diskGib, disksOf, vmPaths } from "./vm-properties.js";
import type { VsphereContext } from "./vsphere-context.js";

/**
 * The config spec that makes a fresh clone of a template (its properties are
 * `values`) the VM of the request: the root disk grown to the requested size,
 * data disks added on its SCSI controller (one added when it has none), the
 * template's NICs replaced by the request's when the request has any, and
 * the config every new VM gets.
 *
 * @throws ProviderError INVALID_SPEC at disks[i] when the controller has no free unit for it.
 */
export function templateCustomization(
  vm: NewVm,
  values: PropertyValues,
  hotAdd: boolean,
): VirtualMachineConfigSpec {
  const { request } = vm;
  const devices = devicesOf(values);
  const disks = disksOf(values);
  const change: VirtualDeviceConfigSpec[] = [];
  const root = disks[0];
  if (root && request.rootDiskSizeGib > diskGib(root.disk))
    change.push(growDisk(root.disk, request.rootDiskSizeGib));
  const slots = scsiSlots(devices);
  let controllerKey = slots.controllerKey;
  if (controllerKey === undefined && request.disks.length) {
    controllerKey = -100;
    change.push(addScsiController(controllerKey));
  }
  request.disks.forEach((d, i) => {
    const unit = slots.free[i];
    if (unit === undefined)
      throw ProviderError.invalidSpec(`disks[${i}]`, "the SCSI controller has no free unit");
    change.push(
      addDisk(-200 - i, controllerKey!, unit, d.sizeGib, d.type, vm.placement.datastore?.name),
    );
  });
  if (request.networks.length) {
    for (const nic of devices.filter(isEthernetCard)) change.push(removeDevice(nic));
    change.push(...addNics(vm));
  }
  const diskNames = [
    ...disks.map((d, i) => (i === 0 ? "root" : d.name)),
    ...request.disks.map((d) => d.name),
  ];
  return newVmConfig(vm, hotAdd, change, diskNames);
}

/**
 * A Create from a template: a full clone of it with the VM's instance UUID,
 * then a reconfigure into the VM of the request (`templateCustomization`).
 */
export function fromTemplate(
  ctx: VsphereContext,
  vm: NewVm,
  template: ManagedObjectReference,
): VmBuild {
  const { client } = ctx;
  return {
    description: `create ${vm.request.name}`,
    async make(signal, progress) {
      const info = await ctx.step(
        signal,
        () =>
          cloneVM(
            client,
            template,
            vm.placement.folder,
            vm.request.name,
            {
              location: relocateSpec(vm.placement),
              template: false,
              powerOn: false,
              config: { instanceUuid: vm.vmId },
            },
            { signal },
          ),
        { report: progress, from: 0, to: 60 },
      );
      return info.result as ManagedObjectReference;
    },
    async finish(made, signal, progress) {
      const values = await ctx.call(signal, () => retrieveOne(client, made, vmPaths, { signal }));
      const spec = templateCustomization(vm, values, ctx.hotAdd);
      await ctx.step(signal, () => reconfigureVM(client, made, spec, { signal }), {
        report: progress,
        from: 60,
        to: 85,
      });
    },
  };
}
