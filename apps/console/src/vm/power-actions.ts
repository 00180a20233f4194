import { PowerState, type VirtualMachine } from "@virtrigaud/proto/manager";
import { vmToApply } from "../snapshots/snapshot-manifests";

/** What the VM page's buttons ask for. */
export type PowerAction = "on" | "off" | "graceful-off" | "reboot";

/** The annotation whose every new value reboots a running VM once (see the manager's guide). */
export const rebootAnnotation = "virtrigaud.io/reboot";

const declared: Record<Exclude<PowerAction, "reboot">, PowerState> = {
  on: PowerState.ON,
  off: PowerState.OFF,
  "graceful-off": PowerState.OFF_GRACEFUL,
};

/**
 * The VM to Apply for `action`, as vrtg's `get -o yaml` then `apply` would:
 * the declared spec.powerState, or for a reboot a new value of the reboot
 * annotation (`now`). The resourceVersion stays, so a VM changed meanwhile
 * is refused (CONFLICT) rather than overwritten; the status is the manager's
 * and is not sent; a revert the spec names stays (the manager does it once).
 */
export function vmForAction(vm: VirtualMachine, action: PowerAction, now: Date): VirtualMachine {
  const next = vmToApply(vm);
  if (action === "reboot") {
    if (next.metadata) next.metadata.annotations[rebootAnnotation] = now.toISOString();
  } else if (next.spec) {
    next.spec.powerState = declared[action];
  }
  return next;
}
