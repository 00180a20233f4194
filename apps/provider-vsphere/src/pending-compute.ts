import type { PropertyValues, VirtualMachineConfigSpec } from "@virtrigaud/vsphere-sdk";
import { reconfigureVM } from "@virtrigaud/vsphere-sdk";
import { extraConfigOf, extraKeys } from "./vm-properties.js";
import type { FoundVm } from "./vm-lookup.js";
import type { VsphereContext } from "./vsphere-context.js";

// A running VM cannot take every CPU or memory change (a shrink, or a growth
// without hot add): the provider keeps such a change in the VM's extraConfig
// and applies it when it next powers the VM off or on.

/** True when the VM has CPU or memory changes waiting for its next power cycle. */
export function hasPending(values: PropertyValues): boolean {
  const extra = extraConfigOf(values);
  return Boolean(extra.get(extraKeys.pendingCpu) || extra.get(extraKeys.pendingMemory));
}

/** Applies CPU and memory changes recorded for the next power cycle; the VM must be off. */
export async function applyPending(
  ctx: VsphereContext,
  vm: FoundVm,
  signal: AbortSignal,
): Promise<void> {
  const extra = extraConfigOf(vm.values);
  const cpu = extra.get(extraKeys.pendingCpu);
  const memory = extra.get(extraKeys.pendingMemory);
  if (!cpu && !memory) return;
  await ctx.step(signal, () =>
    reconfigureVM(
      ctx.client,
      vm.ref,
      {
        ...(cpu ? { numCPUs: Number(cpu) } : {}),
        ...(memory ? { memoryMB: Number(memory) } : {}),
        extraConfig: [
          { key: extraKeys.pendingCpu, value: "" },
          { key: extraKeys.pendingMemory, value: "" },
        ],
      },
      { signal },
    ),
  );
}

/** What a Reconfigure does about CPU and memory. */
export interface ComputePlan {
  /** Changes to make now. */
  spec: Pick<VirtualMachineConfigSpec, "numCPUs" | "memoryMB">;
  /** Pending values to record ("" clears one). */
  extraConfig: Array<{ key: string; value: string }>;
  /** True when a change waits for the next power cycle. */
  powerCycleRequired: boolean;
}

/**
 * Plans a change of CPU count and memory for a VM with `values` (`vmPaths`).
 * A value equal to what the VM will have (pending included) changes nothing.
 * The VM is changed now when it is off, or when it has hot add for that
 * resource and the value does not shrink it; a pending value it replaces is
 * cleared. On a running VM that cannot take it, a value equal to the live one
 * just clears what was pending, and any other is recorded as pending.
 */
export function planCompute(
  values: PropertyValues,
  wanted: { cpu?: number | undefined; memoryMib?: number | undefined },
): ComputePlan {
  const extra = extraConfigOf(values);
  const running = values["runtime.powerState"] !== "poweredOff";
  const plan: ComputePlan = { spec: {}, extraConfig: [], powerCycleRequired: false };
  const resources = [
    {
      wanted: wanted.cpu,
      live: Number(values["config.hardware.numCPU"]),
      hot: values["config.cpuHotAddEnabled"] === true,
      key: extraKeys.pendingCpu,
      set: (n: number) => (plan.spec.numCPUs = n),
    },
    {
      wanted: wanted.memoryMib,
      live: Number(values["config.hardware.memoryMB"]),
      hot: values["config.memoryHotAddEnabled"] === true,
      key: extraKeys.pendingMemory,
      set: (n: number) => (plan.spec.memoryMB = n),
    },
  ];
  for (const { wanted: value, live, hot, key, set } of resources) {
    const pending = extra.get(key);
    const current = Number(pending || live);
    if (value === undefined || value === current) continue;
    if (!running || (hot && value >= live)) {
      set(value);
      if (pending) plan.extraConfig.push({ key, value: "" });
    } else if (value === live) {
      plan.extraConfig.push({ key, value: "" });
    } else {
      plan.extraConfig.push({ key, value: String(value) });
      plan.powerCycleRequired = true;
    }
  }
  return plan;
}
