import { ProviderError } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  ManagedObjectNotFoundError,
  type PropertyValues,
  findVMByUuid,
  retrieveOne,
} from "@virtrigaud/vsphere-sdk";
import { isIdText } from "./ids.js";
import { vmPaths } from "./vm-properties.js";
import type { VsphereContext } from "./vsphere-context.js";

/** A VM found by its id: its reference and its properties (`vmPaths`). */
export interface FoundVm {
  ref: ManagedObjectReference;
  values: PropertyValues;
}

/**
 * The VM with instance UUID `vmId`, or undefined. Templates are not VMs here.
 * The VM's reference is cached; FindByUuid finds it when it is not, or went stale.
 *
 * @throws ProviderError for a failure of vCenter (`toProviderError`).
 */
export async function lookupVm(
  ctx: VsphereContext,
  vmId: string,
  signal: AbortSignal,
): Promise<FoundVm | undefined> {
  if (!isIdText(vmId)) return undefined;
  const { client, finder, refs } = ctx;
  const read = async (ref: ManagedObjectReference) => {
    try {
      const values = await retrieveOne(client, ref, vmPaths, { signal });
      return values["config.instanceUuid"] === vmId ? values : undefined;
    } catch (err) {
      if (err instanceof ManagedObjectNotFoundError) return undefined;
      throw err;
    }
  };
  return ctx.call(signal, async () => {
    const cached = refs.get(vmId);
    let values = cached ? await read(cached) : undefined;
    let ref = cached;
    if (!values) {
      refs.delete(vmId);
      const dc = await finder.datacenter({ signal });
      ref = await findVMByUuid(client, vmId, { datacenter: dc.ref, signal });
      if (ref) values = await read(ref);
    }
    if (!ref || !values || values["config.template"] === true) return undefined;
    refs.set(vmId, ref);
    return { ref, values };
  });
}

/**
 * The VM with instance UUID `vmId`.
 *
 * @throws ProviderError RETRYABLE while the provider is still creating it,
 * NOT_FOUND when there is no such VM.
 */
export async function findVm(
  ctx: VsphereContext,
  vmId: string,
  signal: AbortSignal,
): Promise<FoundVm> {
  const vm = await lookupVm(ctx, vmId, signal);
  if (!vm) {
    if (ctx.creatingIds.has(vmId)) throw stillBeingCreated(vmId);
    throw ProviderError.notFound(`vm ${vmId} does not exist`);
  }
  return vm;
}

/** The error of a call about a VM the provider has not finished creating: try again in a second. */
export function stillBeingCreated(vmId: string): ProviderError {
  return ProviderError.retryable(`vm ${vmId} is still being created`, { retryAfterMs: 1000 });
}
