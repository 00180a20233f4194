import {
  type ContainerView,
  ManagedObjectNotFoundError,
  type ObjectContent,
  createContainerView,
} from "@virtrigaud/vsphere-sdk";
import { vmPaths } from "./vm-properties.js";
import type { VsphereContext } from "./vsphere-context.js";

/** The container view ListVMs reads, one per session (views die with their session). */
async function listView(ctx: VsphereContext, signal: AbortSignal): Promise<ContainerView> {
  const { client, cache } = ctx;
  if (cache.view && cache.view.generation === client.sessionGeneration) return cache.view.view;
  const dc = await ctx.finder.datacenter({ signal });
  const view = await createContainerView(
    client,
    dc.ref,
    ["VirtualMachine", "DistributedVirtualPortgroup"],
    { signal },
  );
  cache.view = { generation: client.sessionGeneration, view };
  return view;
}

/**
 * Every VM (its `vmPaths`) and distributed port group (key and name) of the
 * datacenter, in one retrieval through a container view kept for the session.
 *
 * @throws ProviderError for a failure of vCenter (`toProviderError`).
 */
export function listInventory(ctx: VsphereContext, signal: AbortSignal): Promise<ObjectContent[]> {
  const retrieve = async () =>
    (await listView(ctx, signal)).retrieveTypes(
      [
        { type: "VirtualMachine", pathSet: vmPaths },
        { type: "DistributedVirtualPortgroup", pathSet: ["key", "name"] },
      ],
      { signal },
    );
  return ctx.call(signal, async () => {
    try {
      return await retrieve();
    } catch (err) {
      // The view went with an earlier session: make a new one.
      if (!(err instanceof ManagedObjectNotFoundError)) throw err;
      ctx.cache.view = undefined;
      return retrieve();
    }
  });
}
