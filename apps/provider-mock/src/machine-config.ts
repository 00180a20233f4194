import { PowerState } from "@virtrigaud/contracts";
import type { MachineConfig, VmRecord } from "./vm-record.js";

/** A copy of a configuration that shares nothing with it. */
export function copyConfig(config: MachineConfig): MachineConfig {
  return {
    cpu: config.cpu,
    memoryMib: config.memoryMib,
    disks: config.disks.map((d) => ({ ...d })),
  };
}

/** Moves a VM to a power state; powering off makes pending changes take effect. */
export function setPower(vm: VmRecord, state: PowerState): void {
  if (state === PowerState.OFF && vm.pending) {
    vm.config = { ...vm.config, ...vm.pending };
    vm.pending = undefined;
  }
  vm.powerState = state;
}
