import { CloneType } from "@virtrigaud/contracts";
import {
  type ManagedObjectReference,
  cloneVM,
  createSnapshot,
  retrieveOne,
} from "@virtrigaud/vsphere-sdk";
import { placeVm, startBuild } from "./creations.js";
import { linkedToValue } from "./linked-clones.js";
import {
  type ResolvedPlacement,
  namesPlacement,
  relocateSpec,
  sourcePlacement,
} from "./placement.js";
import type { SnapshotEntry } from "./snapshot-tree.js";
import { requireSnapshot, snapshotsOf } from "./snapshots.js";
import { extraConfigOf, extraKeys } from "./vm-properties.js";
import { type FoundVm, findVm } from "./vm-lookup.js";
import type { VsphereOperation } from "./vsphere-context.js";

/** The provider's records a clone carries over from its source: disk names, labels, tags. */
function carriedExtra(source: FoundVm): Array<{ key: string; value: string }> {
  const extra = extraConfigOf(source.values);
  return [extraKeys.diskNames, extraKeys.labels, extraKeys.tags]
    .filter((k) => extra.has(k))
    .map((key) => ({ key, value: extra.get(key) ?? "" }));
}

/**
 * Clone: a full clone, or a linked clone on a snapshot of the source (one
 * taken for it, "clone-base-<name>", when the request names none), as a
 * provider task; placed where the request says, else where the source is.
 * A linked clone records its base, so the base is not deleted under it.
 *
 * @throws ProviderError NOT_FOUND for an unknown source VM or snapshot;
 * INVALID_SPEC for a placement that names nothing.
 */
export const cloneVm: VsphereOperation<"clone"> = async (ctx, request, signal) => {
  const { client } = ctx;
  const source = await findVm(ctx, request.sourceVmId, signal);
  const snapshot = request.snapshotId
    ? await requireSnapshot(ctx, request.sourceVmId, source.ref, request.snapshotId, signal)
    : undefined;
  const sourcePool = (await ctx.call(signal, () =>
    retrieveOne(client, source.ref, ["resourcePool", "parent"], { signal }),
  )) as {
    resourcePool?: ManagedObjectReference;
    parent?: ManagedObjectReference;
  };
  const placement: ResolvedPlacement = namesPlacement(request.placement)
    ? await placeVm(ctx, request.placement, signal)
    : await sourcePlacement(sourcePool, () => placeVm(ctx, undefined, signal));
  const linked = request.type === CloneType.LINKED;
  return startBuild(
    ctx,
    { name: request.name, folder: placement.folder, powerOn: request.powerOn, powerOnFrom: 90 },
    signal,
    (vmId) => {
      const carried = carriedExtra(source);
      const cloneSpec = (base: SnapshotEntry | undefined) => ({
        location: {
          ...relocateSpec(placement),
          ...(linked ? { diskMoveType: "createNewChildDiskBacking" } : {}),
        },
        template: false,
        powerOn: false,
        ...(base ? { snapshot: base.tree.snapshot } : {}),
        config: {
          instanceUuid: vmId,
          extraConfig: [
            ...carried,
            ...(linked && base
              ? [
                  {
                    key: extraKeys.linkedTo,
                    value: linkedToValue(request.sourceVmId, base.tree.name),
                  },
                ]
              : []),
          ],
        },
      });
      return {
        description: `clone ${String(source.values["name"])} as ${request.name}`,
        async make(s, progress) {
          let base = snapshot;
          if (linked && !base) {
            // A linked clone needs a fixed base: take a snapshot of the source now.
            const baseName = `clone-base-${request.name}`;
            await ctx.step(
              s,
              () =>
                createSnapshot(
                  client,
                  source.ref,
                  {
                    name: baseName,
                    description: `base of linked clone ${request.name}`,
                    memory: false,
                    quiesce: false,
                  },
                  { signal: s },
                ),
              { report: progress, from: 0, to: 20 },
            );
            base = (await snapshotsOf(ctx, source.ref, s)).find((e) => e.tree.name === baseName);
          }
          const info = await ctx.step(
            s,
            () =>
              cloneVM(client, source.ref, placement.folder, request.name, cloneSpec(base), {
                signal: s,
              }),
            { report: progress, from: 20, to: 90 },
          );
          return info.result as ManagedObjectReference;
        },
      };
    },
  );
};
