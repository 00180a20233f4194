import { Kind, type Provider, type VirtualMachine } from "@virtrigaud/proto/manager";
import type { ResourceStore } from "../store/resource-store.js";
import { credentialsSecretKey } from "./provider-credentials.js";

/** The namespace a reference points into: its own, or the referrer's. */
function refNamespace(ref: { namespace?: string } | undefined, own: string): string {
  return ref?.namespace || own;
}

/** A resource one resource refers to. */
export interface ResourceRef {
  kind: Kind;
  namespace: string;
  name: string;
}

/** A reference's key, "Kind/namespace/name" (the kind as its number). */
export function refKey(ref: ResourceRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/**
 * What a VirtualMachine's spec refers to, in this order: its Provider, its
 * VMClass, its VMImage, one VMNetworkAttachment per entry of spec.networks
 * (in the same order; a NIC without networkRef names the attachment of its
 * own name in the VM's namespace), the VMSnapshot it reverts to, and the
 * Secrets of its cloud-init (user data's, then meta data's when another), in
 * its own namespace. A reference the spec leaves out is not listed.
 */
export function vmReferences(vm: VirtualMachine): ResourceRef[] {
  const own = vm.metadata?.namespace || "default";
  const spec = vm.spec;
  const out: ResourceRef[] = [];
  const add = (kind: Kind, ref: { name: string; namespace?: string } | undefined) => {
    if (ref) out.push({ kind, namespace: refNamespace(ref, own), name: ref.name });
  };
  add(Kind.PROVIDER, spec?.providerRef);
  add(Kind.VM_CLASS, spec?.classRef);
  add(Kind.VM_IMAGE, spec?.imageRef);
  for (const nic of spec?.networks ?? [])
    add(Kind.VM_NETWORK_ATTACHMENT, nic.networkRef ?? { name: nic.name });
  add(Kind.VM_SNAPSHOT, spec?.snapshot?.revertToRef);
  const userSecret = spec?.userData?.cloudInit?.secretRef;
  const metaSecret = spec?.metaData?.cloudInit?.secretRef;
  add(Kind.SECRET, userSecret && { name: userSecret.name });
  if (metaSecret && metaSecret.name !== userSecret?.name)
    add(Kind.SECRET, { name: metaSecret.name });
  return out;
}

/** The VirtualMachine's reference of one kind (the first, for networks), if its spec has one. */
export function vmReference(vm: VirtualMachine, kind: Kind): ResourceRef | undefined {
  return vmReferences(vm).find((r) => r.kind === kind);
}

/** The Provider key ("namespace/name") a VM is, or will be, on: the one it is bound to, else its spec's. */
export function providerKeyOf(vm: VirtualMachine): string {
  const bound = vm.status?.boundProvider;
  if (bound?.name) return `${bound.namespace}/${bound.name}`;
  const ns = vm.metadata?.namespace || "default";
  return `${refNamespace(vm.spec?.providerRef, ns)}/${vm.spec?.providerRef?.name ?? ""}`;
}

/**
 * The VirtualMachines that refer to a resource (a Provider, VMClass, VMImage,
 * VMNetworkAttachment or Secret; see `vmReferences`), by "namespace/name". A VM
 * refers to the Provider its spec names and to the one it is bound to.
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
    const bound = vm.status?.boundProvider;
    const uses =
      (kind === Kind.PROVIDER && bound?.name === name && bound.namespace === namespace) ||
      vmReferences(vm).some((r) => r.kind === kind && r.namespace === namespace && r.name === name);
    if (uses) out.push(`${vm.metadata?.namespace || "default"}/${vm.metadata?.name}`);
  }
  return out;
}

/**
 * The Providers whose spec.credentialSecretRef names the Secret
 * `secretKey` ("namespace/name"), by "namespace/name".
 */
export function providersNaming(store: ResourceStore, secretKey: string): string[] {
  return store
    .list(Kind.PROVIDER)
    .filter((p) => credentialsSecretKey(p as Provider) === secretKey)
    .map((p) => `${p.metadata?.namespace || "default"}/${p.metadata?.name}`);
}
