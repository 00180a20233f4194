import { Kind, type VirtualMachine } from "@virtrigaud/proto/manager";
import type { ResourceStore } from "../store/resource-store.js";

/** The namespace a reference points into: its own, or the referrer's. */
export function refNamespace(ref: { namespace?: string } | undefined, own: string): string {
  return ref?.namespace || own;
}

/**
 * The VirtualMachines that refer to a Provider, VMClass, VMImage or
 * VMNetworkAttachment, by "namespace/name".
 */
export function vmsReferring(
  store: ResourceStore,
  kind: Kind,
  namespace: string,
  name: string,
): string[] {
  const out: string[] = [];
  for (const message of store.list(Kind.VIRTUAL_MACHINE)) {
    const vm = message as VirtualMachine;
    const own = vm.metadata?.namespace || "default";
    const spec = vm.spec;
    let uses: boolean;
    switch (kind) {
      case Kind.PROVIDER: {
        const bound = vm.status?.boundProvider;
        uses =
          (spec?.providerRef?.name === name && refNamespace(spec.providerRef, own) === namespace) ||
          (bound?.name === name && bound.namespace === namespace);
        break;
      }
      case Kind.VM_CLASS:
        uses = spec?.classRef?.name === name && refNamespace(spec.classRef, own) === namespace;
        break;
      case Kind.VM_IMAGE:
        uses = spec?.imageRef?.name === name && refNamespace(spec.imageRef, own) === namespace;
        break;
      case Kind.VM_NETWORK_ATTACHMENT:
        uses = (spec?.networks ?? []).some((nic) =>
          nic.networkRef
            ? nic.networkRef.name === name && refNamespace(nic.networkRef, own) === namespace
            : nic.name === name && own === namespace,
        );
        break;
      default:
        uses = false;
    }
    if (uses) out.push(`${own}/${vm.metadata?.name}`);
  }
  return out;
}
