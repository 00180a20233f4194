import { Kind, type VirtualMachine } from "@virtrigaud/proto/manager";
import type { AnyResource } from "../manifest/kinds.js";
import { kindInfo } from "../manifest/kinds.js";

/**
 * Annotation on a Provider, VMClass, VMImage or VMNetworkAttachment: the
 * namespaces whose VirtualMachines may refer to it, comma-separated, or "*"
 * for every namespace. A reference into another namespace is allowed only
 * where the resource referred to says so (the referent opts in, as with
 * Gateway API's ReferenceGrant, but on the resource itself: no new kind).
 */
export const sharedWithAnnotation = "virtrigaud.io/shared-with";

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Why an annotation value is not "*" or a list of namespaces; undefined when it is. */
export function sharedWithProblem(value: string): string | undefined {
  if (value.trim() === "*") return undefined;
  const names = value.split(",").map((n) => n.trim());
  const bad = names.find((n) => !dnsLabel.test(n));
  if (bad !== undefined)
    return `must be "*" or namespaces separated by commas, got ${JSON.stringify(bad.slice(0, 64))}`;
  return undefined;
}

/** Whether `resource` is shared with `namespace` (its own namespace always is). */
export function isSharedWith(resource: AnyResource, namespace: string): boolean {
  const meta = resource.metadata;
  if ((meta?.namespace || "default") === namespace) return true;
  const value = meta?.annotations[sharedWithAnnotation];
  if (value === undefined || sharedWithProblem(value)) return false;
  if (value.trim() === "*") return true;
  return value.split(",").some((n) => n.trim() === namespace);
}

/** A reference of a VirtualMachine's spec into another namespace, with its field path. */
interface CrossNamespaceRef {
  kind: Kind;
  namespace: string;
  name: string;
  /** The field, as the API names it ("spec.networks[1].network_ref"). */
  field: string;
}

/** The references of a VirtualMachine's spec that name another namespace than its own. */
function crossNamespaceRefs(vm: VirtualMachine): CrossNamespaceRef[] {
  const own = vm.metadata?.namespace || "default";
  const spec = vm.spec;
  const out: CrossNamespaceRef[] = [];
  const add = (kind: Kind, ref: { name: string; namespace: string } | undefined, field: string) => {
    if (ref?.namespace && ref.namespace !== own)
      out.push({ kind, namespace: ref.namespace, name: ref.name, field });
  };
  add(Kind.PROVIDER, spec?.providerRef, "spec.provider_ref");
  add(Kind.VM_CLASS, spec?.classRef, "spec.class_ref");
  add(Kind.VM_IMAGE, spec?.imageRef, "spec.image_ref");
  (spec?.networks ?? []).forEach((nic, i) =>
    add(Kind.VM_NETWORK_ATTACHMENT, nic.networkRef, `spec.networks[${i}].network_ref`),
  );
  return out;
}

/** A reference the rule refuses: its field, and why. */
export interface NotShared {
  field: string;
  message: string;
}

/**
 * The first reference of the VM's spec into another namespace whose
 * resource is not shared with the VM's namespace, if any: a pure function of
 * the VM and `lookup` (what the store holds). A resource that does not exist
 * is refused in the same words as one not shared: whether it exists is not
 * the referrer's to learn.
 */
export function findNotShared(
  vm: VirtualMachine,
  lookup: (kind: Kind, namespace: string, name: string) => AnyResource | undefined,
): NotShared | undefined {
  const own = vm.metadata?.namespace || "default";
  for (const ref of crossNamespaceRefs(vm)) {
    const target = lookup(ref.kind, ref.namespace, ref.name);
    if (target && !target.metadata?.deletionTimestamp && isSharedWith(target, own)) continue;
    return {
      field: ref.field,
      message: `${kindInfo(ref.kind).name} ${ref.namespace}/${ref.name} is not shared with namespace ${own}: a reference into another namespace needs the resource there to exist and to name ${own} (or "*") in its annotation ${sharedWithAnnotation}`,
    };
  }
  return undefined;
}
