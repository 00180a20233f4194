import { describe, expect, it } from "@jest/globals";
import type { PropertyValues } from "@virtrigaud/vsphere-sdk";
import { hasPending, planCompute } from "./pending-compute.js";
import { extraKeys } from "./vm-properties.js";

const vm = (
  options: {
    state?: string;
    cpu?: number;
    memoryMB?: number;
    hotAdd?: boolean;
    pending?: { cpu?: string; memory?: string };
  } = {},
): PropertyValues => ({
  "runtime.powerState": options.state ?? "poweredOn",
  "config.hardware.numCPU": options.cpu ?? 2,
  "config.hardware.memoryMB": options.memoryMB ?? 2048,
  "config.cpuHotAddEnabled": options.hotAdd ?? false,
  "config.memoryHotAddEnabled": options.hotAdd ?? false,
  "config.extraConfig": [
    ...(options.pending?.cpu ? [{ key: extraKeys.pendingCpu, value: options.pending.cpu }] : []),
    ...(options.pending?.memory
      ? [{ key: extraKeys.pendingMemory, value: options.pending.memory }]
      : []),
  ],
});

describe("planCompute", () => {
  it("changes a VM that is off at once, however much", () => {
    expect(planCompute(vm({ state: "poweredOff" }), { cpu: 1, memoryMib: 8192 })).toEqual({
      spec: { numCPUs: 1, memoryMB: 8192 },
      extraConfig: [],
      powerCycleRequired: false,
    });
  });

  it("grows a running VM with hot add live", () => {
    expect(planCompute(vm({ hotAdd: true }), { cpu: 4, memoryMib: 4096 })).toEqual({
      spec: { numCPUs: 4, memoryMB: 4096 },
      extraConfig: [],
      powerCycleRequired: false,
    });
  });

  it("keeps what a running VM cannot take for its next power cycle", () => {
    // A shrink, even with hot add; a growth without hot add.
    expect(planCompute(vm({ hotAdd: true }), { cpu: 1 })).toEqual({
      spec: {},
      extraConfig: [{ key: extraKeys.pendingCpu, value: "1" }],
      powerCycleRequired: true,
    });
    expect(planCompute(vm(), { memoryMib: 4096 })).toEqual({
      spec: {},
      extraConfig: [{ key: extraKeys.pendingMemory, value: "4096" }],
      powerCycleRequired: true,
    });
  });

  it("measures the request against what is pending, and clears a pending value it replaces", () => {
    const pending = vm({ hotAdd: true, pending: { cpu: "1", memory: "1024" } });
    // As pending already: nothing to do.
    expect(planCompute(pending, { cpu: 1, memoryMib: 1024 })).toEqual({
      spec: {},
      extraConfig: [],
      powerCycleRequired: false,
    });
    // Back to the live value on a VM that cannot take it live: just drop what was pending.
    expect(planCompute(vm({ pending: { cpu: "1" } }), { cpu: 2 })).toEqual({
      spec: {},
      extraConfig: [{ key: extraKeys.pendingCpu, value: "" }],
      powerCycleRequired: false,
    });
    // Grown live: set it, and drop what was pending.
    expect(planCompute(pending, { memoryMib: 4096 })).toEqual({
      spec: { memoryMB: 4096 },
      extraConfig: [{ key: extraKeys.pendingMemory, value: "" }],
      powerCycleRequired: false,
    });
  });

  it("leaves what the request does not set", () => {
    expect(planCompute(vm(), {})).toEqual({ spec: {}, extraConfig: [], powerCycleRequired: false });
  });
});

describe("hasPending", () => {
  it("is true while a CPU or memory value waits for a power cycle", () => {
    expect(hasPending(vm())).toBe(false);
    expect(hasPending(vm({ pending: { cpu: "4" } }))).toBe(true);
    expect(hasPending(vm({ pending: { memory: "512" } }))).toBe(true);
  });
});
