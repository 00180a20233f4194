import { Firmware, type ProviderRequest } from "@virtrigaud/contracts";
import type { VirtualDeviceConfigSpec, VirtualMachineConfigSpec } from "@virtrigaud/vsphere-sdk";
import type { AdoptedDisk } from "./adopted-disks.js";
import type { ExtraConfigEntry } from "./cloud-init.js";
import { type ResolvedNic, addNic } from "./nics.js";
import type { ResolvedPlacement } from "./placement.js";
import { recordedExtra } from "./vm-properties.js";

/** A Create request, checked and resolved: what the VM is made of. */
export interface NewVm {
  request: ProviderRequest<"create">;
  /** The instance UUID the provider chose, the VM's id. */
  vmId: string;
  placement: ResolvedPlacement;
  nics: ResolvedNic[];
  /** Each NIC's MAC address: the request's, a manual one for a static address, or "" for vSphere's. */
  macs: string[];
  compute: Compute;
  /** cloud-init's guestinfo entries. */
  guestinfo: ExtraConfigEntry[];
  /** Imported disks attached as they are: the root disk's, and each data disk's by index. */
  adopted?: { root: AdoptedDisk | undefined; disks: Array<AdoptedDisk | undefined> };
}

/** CPU, memory and firmware of a new VM. */
export interface Compute {
  cpu: number;
  memoryMB: number;
  /** vSphere's "bios" or "efi"; unset leaves vSphere's default (or the template's). */
  firmware: string | undefined;
}

/** The compute of a request's class: 1 CPU and 1 GiB unless it says. */
export function computeOf(vmClass: ProviderRequest<"create">["class"]): Compute {
  return {
    cpu: vmClass?.cpu ?? 1,
    memoryMB: vmClass?.memoryMib ?? 1024,
    firmware:
      vmClass?.firmware === Firmware.UEFI
        ? "efi"
        : vmClass?.firmware === Firmware.BIOS
          ? "bios"
          : undefined,
  };
}

/**
 * The config spec every new VM gets, however it is made: its compute, hot add
 * when the provider enables it, its device changes, cloud-init's guestinfo,
 * and the disk names, labels and tags the provider records.
 */
export function newVmConfig(
  vm: NewVm,
  hotAdd: boolean,
  deviceChange: VirtualDeviceConfigSpec[],
  diskNames: string[],
): VirtualMachineConfigSpec {
  const { request, compute } = vm;
  return {
    numCPUs: compute.cpu,
    memoryMB: compute.memoryMB,
    ...(compute.firmware ? { firmware: compute.firmware } : {}),
    ...(hotAdd ? { cpuHotAddEnabled: true, memoryHotAddEnabled: true } : {}),
    deviceChange,
    extraConfig: [
      ...vm.guestinfo,
      ...recordedExtra(diskNames, { ...request.labels }, [...request.tags]),
    ],
  };
}

/** The device changes that add the request's NICs, on their resolved networks. */
export function addNics(vm: NewVm): VirtualDeviceConfigSpec[] {
  return vm.nics.map((nic, i) => addNic(-300 - i, nic.type, nic.backing, vm.macs[i] || undefined));
}
