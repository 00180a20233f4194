import { randomUUID } from "node:crypto";
import type { Placement, TaskRef } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  destroyEntity,
  findChild,
  powerOffVM,
  powerOnVM,
  retrieveOne,
  waitForTask,
} from "@virtrigaud/vsphere-sdk";
import { type ResolvedPlacement, resolvePlacement } from "./placement.js";
import { asText } from "./vm-properties.js";
import type { VsphereContext } from "./vsphere-context.js";

// VMs being made: where they go, one Create (or Clone) per name however often
// it is asked, and no half-made VM left behind when one fails.

/**
 * Where a new VM or template goes: the request's placement, then the provider's defaults.
 *
 * @throws ProviderError as `resolvePlacement` does.
 */
export function placeVm(
  ctx: VsphereContext,
  placement: Placement | undefined,
  signal: AbortSignal,
): Promise<ResolvedPlacement> {
  return ctx.call(signal, () =>
    resolvePlacement(ctx.client, ctx.finder, placement, ctx.defaults, "placement", { signal }),
  );
}

/** The id of the VM named `name` in `folder`, if there is one. */
async function existingByName(
  ctx: VsphereContext,
  folder: ManagedObjectReference,
  name: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  const { client } = ctx;
  const ref = await ctx.call(signal, () => findChild(client, folder, name, { signal }));
  if (!ref || ref.type !== "VirtualMachine") return undefined;
  const values = await ctx.call(signal, () =>
    retrieveOne(client, ref, ["config.instanceUuid"], { signal }),
  );
  const vmId = asText(values["config.instanceUuid"] ?? "");
  ctx.refs.set(vmId, ref);
  return vmId;
}

/** Destroys a VM that a failed Create or Clone left behind (best effort). */
async function discard(ctx: VsphereContext, ref: ManagedObjectReference): Promise<void> {
  const { client } = ctx;
  const signal = AbortSignal.timeout(60_000);
  try {
    const state = (await retrieveOne(client, ref, ["runtime.powerState"], { signal }))[
      "runtime.powerState"
    ];
    if (state !== "poweredOff")
      await waitForTask(client, await powerOffVM(client, ref, { signal }), { signal });
    await waitForTask(client, await destroyEntity(client, ref, { signal }), { signal });
  } catch (err) {
    ctx.logger.warn({ err, vm: ref.value }, "could not remove the VM a failed operation left");
  }
}

/** How a create-like provider task makes its VM. */
export interface VmBuild {
  /** The task's description: "create web-1". */
  description: string;
  /** Makes the VM (its first steps) and answers its reference. */
  make(signal: AbortSignal, progress: (percent: number) => void): Promise<ManagedObjectReference>;
  /**
   * Detaches what the VM must not take with it when a failed step removes it
   * (disks it adopted: vCenter's Destroy_Task deletes the disks of a VM).
   */
  release?(vm: ManagedObjectReference, signal: AbortSignal): Promise<void>;
  /** Further steps on the VM just made; when one fails, the VM is removed. */
  finish?(
    vm: ManagedObjectReference,
    signal: AbortSignal,
    progress: (percent: number) => void,
  ): Promise<void>;
}

/** A create-like operation: the VM's name, where it goes, and whether it ends powered on. */
export interface BuildRequest {
  name: string;
  folder: ManagedObjectReference;
  powerOn: boolean;
  /** The progress at which the power-on step starts; it ends at 100. */
  powerOnFrom: number;
}

/**
 * Starts a create-like operation (Create, Clone) as a provider task, one per
 * name: a repeat while it runs answers with the same VM id and task, and a
 * repeat after it finds the VM by name. The VM gets a new instance UUID, its
 * id, which `plan` builds with. A VM left by a failed step is removed (unless
 * the task was aborted by the provider closing).
 */
export function startBuild(
  ctx: VsphereContext,
  request: BuildRequest,
  signal: AbortSignal,
  plan: (vmId: string) => VmBuild,
): Promise<{ vmId: string; task?: TaskRef }> {
  const { name } = request;
  return ctx.creations.run(
    name,
    async (keep) => {
      const existing = await existingByName(ctx, request.folder, name, signal);
      if (existing) return { vmId: existing };
      const vmId = randomUUID();
      ctx.creatingIds.add(vmId);
      try {
        const build = plan(vmId);
        const release = keep();
        const task = ctx.startTask(build.description, async (s, progress) => {
          let made: ManagedObjectReference | undefined;
          try {
            made = await build.make(s, progress);
            await build.finish?.(made, s, progress);
            ctx.refs.set(vmId, made);
            const vm = made;
            if (request.powerOn) {
              await ctx.step(s, () => powerOnVM(ctx.client, vm, { signal: s }), {
                report: progress,
                from: request.powerOnFrom,
                to: 100,
              });
            }
            made = undefined;
          } finally {
            if (made && !s.aborted) {
              const left = made;
              await build
                .release?.(left, AbortSignal.timeout(60_000))
                .catch((err: unknown) =>
                  ctx.logger.warn(
                    { err, vm: left.value },
                    "could not detach the VM's adopted disks",
                  ),
                );
              await discard(ctx, made);
            }
            release();
            ctx.creatingIds.delete(vmId);
          }
        });
        return { vmId, task };
      } catch (err) {
        ctx.creatingIds.delete(vmId);
        throw err;
      }
    },
    signal,
  );
}
