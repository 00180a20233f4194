import { describe, expect, it } from "@jest/globals";
import { ErrorReason, PowerOperation, PowerState, ProviderError } from "@virtrigaud/contracts";
import { planPower } from "./plan-power.js";

const { ON, OFF, SUSPENDED } = PowerState;

describe("planPower", () => {
  it.each([
    [PowerOperation.ON, ON, { kind: "none" }],
    [PowerOperation.ON, OFF, { kind: "change", target: ON, graceful: false }],
    [PowerOperation.ON, SUSPENDED, { kind: "change", target: ON, graceful: false }],
    [PowerOperation.OFF, OFF, { kind: "none" }],
    [PowerOperation.OFF, ON, { kind: "change", target: OFF, graceful: false }],
    [PowerOperation.REBOOT, ON, { kind: "change", target: ON, graceful: false }],
    [PowerOperation.SHUTDOWN, OFF, { kind: "none" }],
    [PowerOperation.SHUTDOWN, ON, { kind: "change", target: OFF, graceful: true }],
    [PowerOperation.SUSPEND, SUSPENDED, { kind: "none" }],
    [PowerOperation.SUSPEND, ON, { kind: "change", target: SUSPENDED, graceful: false }],
  ])("operation %s of a VM in state %s: %o", (operation, state, plan) => {
    expect(planPower("vm-1", state, operation)).toEqual(plan);
  });

  it.each([
    [PowerOperation.REBOOT, OFF, ErrorReason.CONFLICT],
    [PowerOperation.SUSPEND, OFF, ErrorReason.CONFLICT],
    [99 as PowerOperation, ON, ErrorReason.INVALID_SPEC],
  ])("refuses operation %s of a VM in state %s", (operation, state, reason) => {
    let caught: unknown;
    try {
      planPower("vm-1", state, operation);
    } catch (err) {
      caught = err;
    }
    expect(ProviderError.is(caught, reason)).toBe(true);
  });
});
