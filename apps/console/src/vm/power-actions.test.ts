import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { PowerState, VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { rebootAnnotation, vmForAction } from "./power-actions";

const vm = create(VirtualMachineSchema, {
  metadata: { name: "web-1", resourceVersion: "42", annotations: { keep: "me" } },
  spec: { powerState: PowerState.ON, classRef: { name: "small" } },
  status: { powerState: PowerState.ON },
});
const now = new Date("2026-12-05T00:00:00Z");

describe("the VM a power action applies", () => {
  it.each([
    ["on", PowerState.ON],
    ["off", PowerState.OFF],
    ["graceful-off", PowerState.OFF_GRACEFUL],
  ] as const)(
    "%s declares spec.powerState, keeps the resourceVersion, sends no status",
    (action, power) => {
      const next = vmForAction(vm, action, now);
      expect(next.spec?.powerState).toBe(power);
      expect(next.spec?.classRef?.name).toBe("small");
      expect(next.metadata?.resourceVersion).toBe("42");
      expect(next.status).toBeUndefined();
      // The VM shown is left as it was.
      expect(vm.spec?.powerState).toBe(PowerState.ON);
      expect(vm.status).toBeDefined();
    },
  );

  it("reboot sets a new value of the reboot annotation and leaves the power declared", () => {
    const next = vmForAction(vm, "reboot", now);
    expect(next.metadata?.annotations).toEqual({
      keep: "me",
      [rebootAnnotation]: now.toISOString(),
    });
    expect(next.spec?.powerState).toBe(PowerState.ON);
    expect(vm.metadata?.annotations[rebootAnnotation]).toBeUndefined();
  });
});

describe("a power action after a revert", () => {
  const reverted = create(VirtualMachineSchema, {
    metadata: { name: "web-1", generation: 3n },
    spec: { powerState: PowerState.ON, snapshot: { revertToRef: { name: "before" } } },
    status: { revertedTo: "before", revertedGeneration: 2n },
  });

  it("keeps the revert the spec names: the manager does not do it again", () => {
    const next = vmForAction(reverted, "off", now);
    expect(next.spec?.snapshot?.revertToRef?.name).toBe("before");
    expect(next.spec?.powerState).toBe(PowerState.OFF);
  });
});
