import type { Provider, VirtualMachine } from "@virtrigaud/proto/manager";

/**
 * Annotation on a Provider: the same provider moved to the endpoint now
 * applied. It lets a bound Provider's endpoint change; while it is there, a
 * VM the provider does not have is not made again (see `mayRecreateMissing`).
 */
export const providerMovedAnnotation = "virtrigaud.io/provider-moved";

/**
 * Annotation on a VirtualMachine: "true" lets the manager make the VM again
 * when its moved provider does not have it.
 */
export const recreateAnnotation = "virtrigaud.io/recreate";

/**
 * Whether a VM its provider no longer has may be made again there. At a
 * provider that did not move, yes: someone deleted it there, and making it
 * again is the drift repair the spec asks for (the same server had its
 * cloud-init already). At a moved provider, only when the VM's owner says so:
 * the server at the new endpoint may not be the one the VM was made on, and
 * making it there would send its cloud-init to a stranger and leave the
 * original running where it was.
 */
export function mayRecreateMissing(provider: Provider, vm: VirtualMachine): boolean {
  if (provider.metadata?.annotations[providerMovedAnnotation] !== "true") return true;
  return vm.metadata?.annotations[recreateAnnotation] === "true";
}
