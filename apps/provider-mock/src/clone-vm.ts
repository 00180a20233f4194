import { CloneType, ProviderError } from "@virtrigaud/contracts";
import { copyConfig } from "./machine-config.js";
import {
  type MockOperation,
  existingAnswer,
  finishCreate,
  newVmRecord,
  readyVm,
} from "./mock-context.js";
import { takeSnapshot } from "./snapshots.js";
import type { SnapshotRecord } from "./vm-record.js";

/**
 * Clone: once per new name, like Create. The clone copies the source (or the
 * snapshot asked for) with new MAC addresses; a linked clone without a
 * snapshot gets one taken of the source now, removed again if the clone fails.
 *
 * @throws ProviderError NOT_FOUND for an unknown snapshot; as `readyVm` does for the source.
 */
export const cloneVm: MockOperation<"clone"> = (ctx, request, signal) =>
  ctx.creations.run(
    request.name,
    () => {
      const source = readyVm(ctx, request.sourceVmId);
      const existing = ctx.store.byName(request.name);
      if (existing) return Promise.resolve(existingAnswer(existing));
      let base: SnapshotRecord | undefined;
      if (request.snapshotId) {
        base = source.snapshots.find((s) => s.id === request.snapshotId);
        if (!base)
          throw ProviderError.notFound(`vm ${source.id} has no snapshot ${request.snapshotId}`);
      }
      let undo = () => {};
      if (request.type === CloneType.LINKED && !base) {
        // A linked clone needs a fixed base: take a snapshot of the source now.
        const made = takeSnapshot(
          ctx,
          source,
          `clone-base-${request.name}`,
          `base of linked clone ${request.name}`,
          false,
        );
        base = made;
        undo = () => {
          source.snapshots = source.snapshots.filter((s) => s !== made);
          if (source.currentSnapshotId === made.id) source.currentSnapshotId = made.parentId;
        };
      }
      const vm = newVmRecord(ctx, request.name, {
        firmware: source.firmware,
        config: copyConfig(base?.config ?? source.config),
        nics: source.nics.map((n) => ({ ...n, macAddress: ctx.newMac(), staticAddress: "" })),
        tags: [...source.tags],
        labels: { ...source.labels },
        image: source.image,
        linkedTo:
          request.type === CloneType.LINKED && base
            ? { vmId: source.id, snapshotId: base.id }
            : undefined,
      });
      return Promise.resolve(finishCreate(ctx, vm, "clone", request.powerOn, undefined, undo));
    },
    signal,
  );
