import { PowerOperation, PowerState, ProviderError } from "@virtrigaud/contracts";

/** What a power operation does to a VM: nothing, or move it to `target` (`graceful`: by ACPI). */
export type PowerPlan =
  { kind: "none" } | { kind: "change"; target: PowerState; graceful: boolean };

/**
 * Decides a Power call from the VM's power state: a VM in the target state
 * needs nothing; REBOOT and SUSPEND need a running VM.
 *
 * @throws ProviderError CONFLICT for a REBOOT or SUSPEND of a VM that does not
 * run; INVALID_SPEC for an unknown operation.
 */
export function planPower(vmId: string, state: PowerState, operation: PowerOperation): PowerPlan {
  const none: PowerPlan = { kind: "none" };
  const to = (target: PowerState, graceful = false): PowerPlan => ({
    kind: "change",
    target,
    graceful,
  });
  switch (operation) {
    case PowerOperation.ON:
      return state === PowerState.ON ? none : to(PowerState.ON);
    case PowerOperation.OFF:
      return state === PowerState.OFF ? none : to(PowerState.OFF);
    case PowerOperation.REBOOT:
      if (state !== PowerState.ON)
        throw ProviderError.conflict(`vm ${vmId} is not running; power it on instead`);
      return to(PowerState.ON);
    case PowerOperation.SHUTDOWN:
      return state === PowerState.OFF ? none : to(PowerState.OFF, true);
    case PowerOperation.SUSPEND:
      if (state === PowerState.SUSPENDED) return none;
      if (state !== PowerState.ON)
        throw ProviderError.conflict(`vm ${vmId} is not running; only a running VM suspends`);
      return to(PowerState.SUSPENDED);
    default:
      throw ProviderError.invalidSpec("operation", `unknown power operation ${operation}`);
  }
}
