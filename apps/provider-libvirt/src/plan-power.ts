import { PowerOperation, PowerState, ProviderError } from "@virtrigaud/contracts";
import { powerStateOf } from "./inventory/inventory.js";

/** libvirt's domain states the plan tells apart (virDomainState). */
const paused = 3;
const pmSuspended = 7;

/**
 * What a Power call does: nothing; one virsh command on the domain (`what`
 * names the task); or a graceful shutdown (resuming a paused domain first),
 * which powers off hard when the guest ignores it.
 */
export type PowerPlan =
  | { kind: "none" }
  | { kind: "virsh"; what: string; command: string; options?: Record<string, string> }
  | { kind: "shutdown"; resumeFirst: boolean };

/**
 * Decides a Power call from the domain's libvirt state: a domain in the
 * target state needs nothing; ON resumes a paused domain and wakes a
 * suspended one; REBOOT is an ACPI reboot, never a destroy and start.
 *
 * @throws ProviderError CONFLICT for a REBOOT or SUSPEND of a domain that does
 * not run; INVALID_SPEC for an unknown operation.
 */
export function planPower(name: string, state: number, operation: PowerOperation): PowerPlan {
  const power = powerStateOf(state);
  switch (operation) {
    case PowerOperation.ON:
      if (power === PowerState.ON) return { kind: "none" };
      if (state === paused) return { kind: "virsh", what: "resume", command: "resume" };
      if (state === pmSuspended) return { kind: "virsh", what: "wake", command: "dompmwakeup" };
      return { kind: "virsh", what: "start", command: "start" };
    case PowerOperation.OFF:
      if (power === PowerState.OFF) return { kind: "none" };
      return { kind: "virsh", what: "power off", command: "destroy" };
    case PowerOperation.REBOOT:
      if (power !== PowerState.ON) {
        throw ProviderError.conflict(`vm ${name} is not running; power it on instead`);
      }
      // ACPI: the guest reboots itself; never a destroy and start.
      return { kind: "virsh", what: "reboot", command: "reboot", options: { mode: "acpi" } };
    case PowerOperation.SHUTDOWN:
      if (power === PowerState.OFF) return { kind: "none" };
      return { kind: "shutdown", resumeFirst: state === paused };
    case PowerOperation.SUSPEND:
      if (power === PowerState.SUSPENDED) return { kind: "none" };
      if (power !== PowerState.ON) {
        throw ProviderError.conflict(`vm ${name} is not running; only a running VM suspends`);
      }
      return { kind: "virsh", what: "suspend", command: "suspend" };
    default:
      throw ProviderError.invalidSpec("operation", `unknown power operation ${operation}`);
  }
}
