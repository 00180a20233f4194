import type { VirtualMachine } from "@virtrigaud/proto/manager";
import { ownerLabels } from "./resolve-vm.js";

/**
 * Annotation on a VirtualMachine: the uid (the `virtrigaud.io/uid` label) of
 * the resource whose provider VM it may take over. Without it, a VM that
 * carries another resource's uid is never adopted, changed or deleted.
 */
export const adoptOwnerAnnotation = "virtrigaud.io/adopt-owner-uid";

/** Whose a provider VM is, from where a VirtualMachine stands. */
export type Ownership =
  /** It carries this resource's uid, or one the resource took over before. */
  | { verdict: "own" }
  /** It carries no uid: made outside VirtRigaud, adoptable as it is. */
  | { verdict: "unlabelled" }
  /** It carries another resource's uid, and the annotation asks to take it over now. */
  | { verdict: "adopt"; ownerUid: string }
  /** It carries another resource's uid: most likely another manager's. Hands off. */
  | { verdict: "foreign"; ownerUid: string };

/**
 * Judges whose a provider VM is by its `virtrigaud.io/uid` label: a pure
 * function of the resource (its uid, the uid it took over, its annotation)
 * and the labels the provider reports.
 */
export function judgeOwnership(
  vm: VirtualMachine,
  labels: Readonly<Record<string, string>>,
): Ownership {
  const owner = labels[ownerLabels.uid] ?? "";
  if (!owner) return { verdict: "unlabelled" };
  if (owner === vm.metadata?.uid || owner === vm.status?.adoptedOwnerUid) return { verdict: "own" };
  if (vm.metadata?.annotations[adoptOwnerAnnotation] === owner)
    return { verdict: "adopt", ownerUid: owner };
  return { verdict: "foreign", ownerUid: owner };
}

/** Who owns a VM whose label says `ownerUid`: a VirtualMachine of this manager (`claimant`), or another's. */
export function ownerOf(ownerUid: string, claimant: string | undefined): string {
  return claimant
    ? `VirtualMachine ${claimant} (uid ${ownerUid})`
    : `the VirtualMachine of uid ${ownerUid}, which this manager does not have (another manager's?)`;
}

/** Why a resource keeps its hands off a VM that carries another's uid, and how to take it over. */
export function foreignMessage(
  vmName: string,
  vmId: string,
  providerKey: string,
  ownerUid: string,
  claimant: string | undefined,
): string {
  return `${vmName} (${vmId}) at ${providerKey} belongs to ${ownerOf(ownerUid, claimant)}; to take it over, annotate ${adoptOwnerAnnotation}=${ownerUid}`;
}
