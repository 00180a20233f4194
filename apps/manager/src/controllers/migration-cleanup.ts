import { rm } from "node:fs/promises";
import { join } from "node:path";
import { ProviderError } from "@virtrigaud/contracts";
import {
  Kind,
  MigrationPhase,
  PowerState,
  type VMMigration,
  type VMMigrationStatus,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import type { ControllerContext } from "./context.js";
import { migrationAnnotation, targetNamespace } from "./migration-plan.js";
import type { ProviderConnection } from "./provider-connection.js";

/** What a cleanup works on. */
export interface CleanupInput {
  migration: VMMigration;
  status: VMMigrationStatus;
  sourceVm: VirtualMachine | undefined;
  targetVm: VirtualMachine | undefined;
  sourceConn: ProviderConnection | undefined;
  targetConn: ProviderConnection | undefined;
  ctx: ControllerContext;
  /** Keep the target VM and the imports it adopted (a verified or failed migration). */
  keepTarget?: boolean;
  /** Leave the source's power as it is (a verified migration: the source stays off). */
  keepSourcePower?: boolean;
}

/** Whether everything is undone, and what was done or is still awaited, for an event. */
export interface CleanupOutcome {
  finished: boolean;
  message: string;
}

/**
 * Undoes what a migration made, each part idempotent so that a cleanup
 * interrupted (a provider down, the manager restarted) is simply done
 * again: the exports end; unless `keepTarget`, the target VM goes when it
 * is not verified and the imports are aborted; the snapshot the migration
 * took is removed; unless `keepSourcePower`, a source the migration shut
 * down is powered on again (through its spec, as it was shut down).
 */
export async function cleanupActions(input: CleanupInput): Promise<CleanupOutcome> {
  const { migration, status, sourceVm, targetVm, sourceConn, targetConn, ctx } = input;
  const done: string[] = [];
  const waiting: string[] = [];
  const verified = status.phase === MigrationPhase.READY;
  const attempt = async (what: string, call: () => Promise<unknown>) => {
    try {
      await call();
      done.push(what);
    } catch (err) {
      const error = ProviderError.from(err);
      waiting.push(`${what}: ${error.message}`);
    }
  };

  // Released (staged whole), the source has nothing of the migration's left.
  // A final sync made a second export of each disk.
  const exportIds = status.disks.flatMap((d) => [d.exportId, d.syncExportId].filter(Boolean));
  for (const exportId of status.sourceReleased ? [] : exportIds) {
    if (!sourceConn) waiting.push(`ending export ${exportId}: the source provider is unknown`);
    else
      await attempt(`ended export ${exportId}`, () =>
        sourceConn.client.diskExportEnd({ exportId }),
      );
  }

  if (!input.keepTarget && !verified) {
    const ours = targetVm?.metadata?.annotations[migrationAnnotation] === migration.metadata?.uid;
    if (targetVm?.metadata && ours) {
      if (!targetVm.metadata.deletionTimestamp)
        await ctx.store.requestDelete(
          Kind.VIRTUAL_MACHINE,
          targetNamespace(migration),
          targetVm.metadata.name,
        );
      waiting.push(`VirtualMachine ${targetVm.metadata.name} is being deleted`);
    }
    for (const disk of status.disks) {
      if (!targetConn)
        waiting.push(`aborting import ${disk.importId}: the target provider is unknown`);
      else
        await attempt(`aborted import ${disk.importId}`, () =>
          targetConn.client.diskImportAbort({ importId: disk.importId }),
        );
    }
  }

  if (status.snapshotCreated && status.snapshotId && !status.sourceReleased) {
    const vmId = sourceVm?.status?.id;
    if (!sourceConn || !vmId)
      waiting.push(`removing snapshot ${status.snapshotId}: the source is unreachable`);
    else
      await attempt(`removed snapshot ${status.snapshotId}`, async () => {
        const answer = await sourceConn.client.snapshotDelete({
          vmId,
          snapshotId: status.snapshotId,
        });
        if (answer.task) await sourceConn.client.waitForTask(answer.task);
      });
  }

  const stagingDir = ctx.settings.migrationStagingDir;
  if (status.storageInfo && stagingDir && migration.metadata?.uid)
    await attempt("removed the staged disks", () =>
      rm(join(stagingDir, migration.metadata?.uid ?? ""), { recursive: true, force: true }),
    );

  // A verified migration's source stays off: the target is the same machine now.
  if (!input.keepSourcePower && !verified) {
    const powered = await restoreSourcePower(input);
    if (powered) done.push(powered);
  }
  return {
    finished: waiting.length === 0,
    message: (waiting.length ? waiting : done).join("; ") || "nothing to undo",
  };
}

/**
 * Ends the source's exports and removes the snapshot the migration took:
 * once every disk is staged whole, the source is not needed to finish.
 *
 * @throws ProviderError UNAVAILABLE when the source's provider is unknown;
 * otherwise the failing call's error (the step is tried again).
 */
export async function releaseSource(
  status: VMMigrationStatus,
  sourceVm: VirtualMachine | undefined,
  sourceConn: ProviderConnection | undefined,
): Promise<void> {
  if (!sourceConn) throw ProviderError.unavailable("the source's provider is unknown");
  for (const disk of status.disks)
    await sourceConn.client.diskExportEnd({ exportId: disk.exportId });
  const vmId = sourceVm?.status?.id;
  if (status.snapshotCreated && status.snapshotId && vmId) {
    const answer = await sourceConn.client.snapshotDelete({ vmId, snapshotId: status.snapshotId });
    if (answer.task) await sourceConn.client.waitForTask(answer.task);
  }
}

/**
 * Powers the source on again (through its spec, as it was shut down) when
 * the migration shut it down: a migration deleted or failed before the
 * target was verified leaves the source as it found it. Returns what it did.
 */
export async function restoreSourcePower(
  input: Pick<CleanupInput, "migration" | "status" | "sourceVm" | "ctx">,
): Promise<string | undefined> {
  const { migration, status, sourceVm, ctx } = input;
  if (!status.sourcePoweredOff || status.sourceDeleted || !sourceVm?.metadata) return undefined;
  const ns = migration.metadata?.namespace || "default";
  await ctx.store.update<VirtualMachine>(Kind.VIRTUAL_MACHINE, ns, sourceVm.metadata.name, (vm) => {
    if (!vm.spec || !vm.metadata || vm.spec.powerState === PowerState.ON) return;
    vm.spec.powerState = PowerState.ON;
    vm.metadata.generation += 1n;
  });
  return `powered ${sourceVm.metadata.name} on again`;
}
