import { describe, expect, it } from "@jest/globals";
import { ErrorReason, PowerOperation, ProviderError } from "@virtrigaud/contracts";
import { planPower } from "./plan-power.js";

// libvirt domain states: 1 running, 3 paused, 5 shut off, 7 pmsuspended.
const running = 1;
const paused = 3;
const off = 5;
const pmSuspended = 7;

describe("planPower", () => {
  it.each([
    [PowerOperation.ON, running, { kind: "none" }],
    [PowerOperation.ON, off, { kind: "virsh", what: "start", command: "start" }],
    [PowerOperation.ON, paused, { kind: "virsh", what: "resume", command: "resume" }],
    [PowerOperation.ON, pmSuspended, { kind: "virsh", what: "wake", command: "dompmwakeup" }],
    [PowerOperation.OFF, off, { kind: "none" }],
    [PowerOperation.OFF, running, { kind: "virsh", what: "power off", command: "destroy" }],
    [
      PowerOperation.REBOOT,
      running,
      { kind: "virsh", what: "reboot", command: "reboot", options: { mode: "acpi" } },
    ],
    [PowerOperation.SHUTDOWN, off, { kind: "none" }],
    [PowerOperation.SHUTDOWN, running, { kind: "shutdown", resumeFirst: false }],
    [PowerOperation.SHUTDOWN, paused, { kind: "shutdown", resumeFirst: true }],
    [PowerOperation.SUSPEND, paused, { kind: "none" }],
    [PowerOperation.SUSPEND, running, { kind: "virsh", what: "suspend", command: "suspend" }],
  ])("operation %s in libvirt state %s: %o", (operation, state, plan) => {
    expect(planPower("web", state, operation)).toEqual(plan);
  });

  it.each([
    [PowerOperation.REBOOT, off, ErrorReason.CONFLICT],
    [PowerOperation.SUSPEND, off, ErrorReason.CONFLICT],
    [99 as PowerOperation, running, ErrorReason.INVALID_SPEC],
  ])("refuses operation %s in libvirt state %s", (operation, state, reason) => {
    let caught: unknown;
    try {
      planPower("web", state, operation);
    } catch (err) {
      caught = err;
    }
    expect(ProviderError.is(caught, reason)).toBe(true);
  });
});
