import { ProviderError, type ProviderRequest } from "@virtrigaud/contracts";
import type { MachineConfig } from "./vm-record.js";

/** What a Reconfigure changes now, and what waits for the VM's next power cycle. */
export interface ReconfigurePlan {
  now: Partial<MachineConfig>;
  later: Partial<MachineConfig>;
  powerCycleRequired: boolean;
}

/** The VM as a Reconfigure sees it. */
export interface ReconfigureTarget {
  id: string;
  config: MachineConfig;
  /** Changes already waiting for a power cycle; the request's targets compare with them. */
  pending: Partial<MachineConfig> | undefined;
  running: boolean;
  /** What a running VM takes at once. */
  onlineReconfigure: boolean;
  onlineDiskGrow: boolean;
}

/**
 * Decides a Reconfigure: the request's values are targets, compared with the
 * configuration and what is pending. Nothing to change is undefined. A
 * running VM takes CPU and memory, and disk growth, at once only where the
 * capability says so; the rest waits for a power cycle.
 *
 * @throws ProviderError INVALID_SPEC for an unknown disk or a shrink.
 */
export function planReconfigure(
  vm: ReconfigureTarget,
  request: ProviderRequest<"reconfigure">,
): ReconfigurePlan | undefined {
  const current = { ...vm.config, ...vm.pending };
  const disks = current.disks.map((d) => ({ ...d }));
  for (const [i, resize] of request.disks.entries()) {
    const disk = disks.find((d) => d.name === resize.name);
    if (!disk)
      throw ProviderError.invalidSpec(
        `disks[${i}].name`,
        `vm ${vm.id} has no disk named ${JSON.stringify(resize.name)}`,
      );
    if (resize.sizeGib < disk.sizeGib) {
      throw ProviderError.invalidSpec(
        `disks[${i}].size_gib`,
        `cannot shrink ${resize.name} from ${disk.sizeGib} to ${resize.sizeGib} GiB`,
      );
    }
    disk.sizeGib = resize.sizeGib;
  }
  const compute: Partial<MachineConfig> = {
    ...(request.cpu !== undefined && request.cpu !== current.cpu ? { cpu: request.cpu } : {}),
    ...(request.memoryMib !== undefined && request.memoryMib !== current.memoryMib
      ? { memoryMib: request.memoryMib }
      : {}),
  };
  const diskChange = disks.some((d, i) => d.sizeGib !== current.disks[i]?.sizeGib) ? { disks } : {};
  if (!Object.keys(compute).length && !Object.keys(diskChange).length) return undefined;
  const now: Partial<MachineConfig> = {};
  const later: Partial<MachineConfig> = {};
  Object.assign(!vm.running || vm.onlineReconfigure ? now : later, compute);
  Object.assign(!vm.running || vm.onlineDiskGrow ? now : later, diskChange);
  return { now, later, powerCycleRequired: Object.keys(later).length > 0 };
}
