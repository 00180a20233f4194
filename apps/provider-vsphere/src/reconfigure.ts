import { ProviderError } from "@virtrigaud/contracts";
import {
  type VirtualDeviceConfigSpec,
  type VirtualDisk,
  type VirtualMachineConfigSpec,
  reconfigureVM,
} from "@virtrigaud/vsphere-sdk";
import { growDisk } from "./devices.js";
import { vsphereTaskRef } from "./ids.js";
import { planCompute } from "./pending-compute.js";
import { diskGib, disksOf } from "./vm-properties.js";
import { findVm } from "./vm-lookup.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * The device changes that grow the VM's named disks to the requested sizes;
 * a disk at its size already is left alone.
 *
 * @throws ProviderError INVALID_SPEC at disks[i].name for a disk the VM has
 * not, at disks[i].size_gib for a shrink.
 */
export function diskGrowth(
  vmId: string,
  disks: Array<{ name: string; disk: VirtualDisk }>,
  resizes: Array<{ name: string; sizeGib: number }>,
): VirtualDeviceConfigSpec[] {
  const change: VirtualDeviceConfigSpec[] = [];
  resizes.forEach((resize, i) => {
    const found = disks.find((d) => d.name === resize.name);
    if (!found)
      throw ProviderError.invalidSpec(
        `disks[${i}].name`,
        `vm ${vmId} has no disk named ${JSON.stringify(resize.name)}`,
      );
    const size = diskGib(found.disk);
    if (resize.sizeGib < size) {
      throw ProviderError.invalidSpec(
        `disks[${i}].size_gib`,
        `cannot shrink ${resize.name} from ${size} to ${resize.sizeGib} GiB`,
      );
    }
    if (resize.sizeGib > size) change.push(growDisk(found.disk, resize.sizeGib));
  });
  return change;
}

/**
 * Reconfigure: one vSphere task (ReconfigVM_Task) for CPU, memory and disk
 * growth, one at a time per VM. CPU and memory a running VM cannot take are
 * kept for its next power cycle (`planCompute`), and the answer says so.
 *
 * @throws ProviderError INVALID_SPEC for an unknown disk or a shrink; NOT_FOUND
 * for an unknown VM.
 */
export const reconfigure: VsphereOperation<"reconfigure"> = (ctx, request, signal) => {
  return ctx.perVm.run(
    request.vmId,
    async () => {
      const vm = await findVm(ctx, request.vmId, signal);
      const change = diskGrowth(request.vmId, disksOf(vm.values), request.disks);
      const compute = planCompute(vm.values, request);
      const spec: VirtualMachineConfigSpec = { ...compute.spec };
      if (change.length) spec.deviceChange = change;
      if (compute.extraConfig.length) spec.extraConfig = compute.extraConfig;
      if (!Object.keys(spec).length) return {};
      const task = await ctx.call(signal, () =>
        reconfigureVM(ctx.client, vm.ref, spec, { signal }),
      );
      return { task: vsphereTaskRef(task), powerCycleRequired: compute.powerCycleRequired };
    },
    signal,
  );
};
