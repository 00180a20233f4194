import { clone, create } from "@bufbuild/protobuf";
import { ErrorReason, ProviderError, exportDisk } from "@virtrigaud/contracts";
import {
  Kind,
  MigrationPhase,
  PowerState,
  type VMMigration,
  type VMMigrationStatus,
  VMMigrationStatusSchema,
  type VMSnapshot,
  type VirtualMachine,
  VirtualMachineLifecycleSchema,
} from "@virtrigaud/proto/manager";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { imageFormatOf, transferIds } from "./migration-formats.js";
import { syncExportRequest } from "./migration-sync.js";
import {
  type MigrationEvent,
  type MigrationFacts,
  type ProviderFacts,
  planMigration,
  targetNamespace,
} from "./migration-plan.js";
import {
  type CleanupInput,
  cleanupActions,
  releaseSource,
  restoreSourcePower,
} from "./migration-cleanup.js";
import { targetVmOf } from "./migration-target.js";
import { type TransferRuns, createTransferRuns } from "./migration-transfer.js";
import type { ProviderConnection } from "./provider-connection.js";
import { providerKeyOf } from "./references.js";
import { judgeRefusal } from "./refusals.js";
import type { ReconcileResult } from "./work-queue.js";
import { migrationFinalizer, vmFinalizer } from "../api/manager-service.js";

/** How long a graceful shutdown of the source may take by default before the provider gives up. */
const shutdownTimeout = "120s";

/**
 * The VMMigration controller: validates, prepares the source (a snapshot,
 * or a graceful shutdown through the source VM's own spec), exports every
 * disk, copies them through the manager (`migration-transfer.ts`, resumable
 * from what the target holds), live: shuts the source down at cutover and
 * syncs the ranges changed since the snapshot, commits the imports, declares the target
 * VirtualMachine from them and waits for it to be Ready, then cleans up.
 * Deleting a migration midway undoes what it made (`migration-cleanup.ts`).
 *
 * What to do is decided in `migration-plan.ts`; this file carries it out.
 */
export function createMigrationController(ctx: ControllerContext) {
  const { store } = ctx;
  const transfers: TransferRuns = createTransferRuns(ctx);
  /** Waits in a row for an unavailable provider, per migration. */
  const outages = new Map<string, number>();

  const write = (ns: string, name: string, status: VMMigrationStatus) =>
    store.update<VMMigration>(Kind.VM_MIGRATION, ns, name, (copy) => {
      // The transfer writes the disks' progress on its own: keep what it wrote.
      const running = transfers.running(`${ns}/${name}`);
      const next = clone(VMMigrationStatusSchema, status);
      if (running && copy.status) {
        next.disks = copy.status.disks;
        next.progress = copy.status.progress;
      }
      copy.status = next;
    });

  const facts = (c: ProviderConnection | undefined, key: string): ProviderFacts | undefined =>
    c && { key, circuit: c.circuit, capabilities: c.capabilities };

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const migration = store.get(Kind.VM_MIGRATION, ns, name) as VMMigration | undefined;
    const meta = migration?.metadata;
    if (!migration || !meta) return;
    const spec = migration.spec;
    const sourceVm = store.get(Kind.VIRTUAL_MACHINE, ns, spec?.source?.vmRef?.name ?? "") as
      VirtualMachine | undefined;
    const targetNs = targetNamespace(migration);
    const targetVm = store.get(Kind.VIRTUAL_MACHINE, targetNs, spec?.target?.name ?? "") as
      VirtualMachine | undefined;
    const sourceKey = sourceVm ? providerKeyOf(sourceVm) : "";
    const targetRef = spec?.target?.providerRef;
    const targetKey = `${targetRef?.namespace || targetNs}/${targetRef?.name ?? ""}`;
    const sourceConn = sourceKey ? ctx.connections.get(sourceKey) : undefined;
    const targetConn = ctx.connections.get(targetKey);
    const record = (e: MigrationEvent) =>
      ctx.event(Kind.VM_MIGRATION, migration, e.type, e.reason, e.message);
    /** Undoes what the migration made, as far as `status` says it went (see migration-cleanup.ts). */
    const cleanUp = (
      status: VMMigrationStatus,
      keep: Pick<CleanupInput, "keepTarget" | "keepSourcePower"> = {},
    ) =>
      cleanupActions({
        migration,
        status,
        sourceVm,
        targetVm,
        sourceConn,
        targetConn,
        ctx,
        ...keep,
      });

    if (meta.deletionTimestamp) {
      if (!meta.finalizers.includes(migrationFinalizer)) return;
      transfers.stop(key);
      outages.delete(key);
      const status = migration.status ?? create(VMMigrationStatusSchema);
      const done = await cleanUp(status);
      if (!done.finished) {
        record({ type: "Warning", reason: "CleanupWaiting", message: done.message });
        return { requeueAfterMs: 5_000 };
      }
      record({ type: "Normal", reason: "CleanedUp", message: done.message });
      await store.update<VMMigration>(Kind.VM_MIGRATION, ns, name, (copy) => {
        if (copy.metadata)
          copy.metadata.finalizers = copy.metadata.finalizers.filter(
            (f) => f !== migrationFinalizer,
          );
      });
      return;
    }

    const snapshotRef = spec?.source?.snapshotRef;
    const state: MigrationFacts = {
      migration,
      status: migration.status
        ? clone(VMMigrationStatusSchema, migration.status)
        : create(VMMigrationStatusSchema),
      now: ctx.now(),
      sourceVm,
      snapshot: snapshotRef
        ? (store.get(Kind.VM_SNAPSHOT, ns, snapshotRef.name) as VMSnapshot | undefined)
        : undefined,
      targetVm,
      source: sourceVm ? facts(sourceConn, sourceKey) : undefined,
      target: facts(targetConn, targetKey),
      stagingDir: ctx.settings.migrationStagingDir,
      described: undefined,
      transfer: transfers.outcome(key),
      outageWaits: outages.get(key) ?? 0,
      confirmedImports: new Set<string>(),
    };
    const confirmed = state.confirmedImports as Set<string>;

    /** A provider call failed: an outage waits, anything else counts as a failed try. */
    const refused = async (thrown: unknown, what: string): Promise<ReconcileResult> => {
      const refusal = judgeRefusal(thrown, state.status.retryCount + 1);
      const status = state.status;
      const message = `${what}: ${refusal.message}`;
      status.message = message;
      setCondition(
        status.conditions,
        {
          type: "Ready",
          status: false,
          reason: refusal.outage ? "ProviderUnavailable" : "ProviderError",
          message,
        },
        meta.generation,
        state.now,
      );
      record({
        type: "Warning",
        reason: refusal.outage ? "ProviderUnavailable" : "ProviderError",
        message,
      });
      if (!refusal.outage) {
        const max = spec?.options?.retryPolicy?.maxRetries ?? 3;
        if (refusal.permanent || status.retryCount >= max) {
          status.phase = MigrationPhase.FAILED;
          status.observedGeneration = meta.generation;
          await write(ns, name, status);
          return {};
        }
        status.retryCount += 1;
      }
      await write(ns, name, status);
      return { requeueAfterMs: refusal.outage ? 5_000 : refusal.retryAfterMs };
    };

    for (;;) {
      const plan = planMigration(state);
      const status = plan.status;
      state.status = status;
      // The plan acted on how the last copy ended.
      if (state.transfer && state.transfer.state !== "running") transfers.forget(key);
      state.transfer = undefined;
      plan.events.forEach(record);
      const unavailable = status.conditions.some(
        (c) => c.type === "Ready" && c.reason === "ProviderUnavailable",
      );
      if (unavailable && plan.step.kind === "wait") outages.set(key, state.outageWaits + 1);
      else outages.delete(key);
      const step = plan.step;
      switch (step.kind) {
        case "none":
          return;
        case "wait":
          await write(ns, name, status);
          return step.afterMs === undefined ? undefined : { requeueAfterMs: step.afterMs };
        case "fail":
          transfers.forget(key);
          if (step.cleanUp) {
            const done = await cleanUp(status, { keepSourcePower: true });
            status.cleanedUp = done.finished;
          }
          // A failed migration leaves the source as it found it.
          await restoreSourcePower({ migration, status, sourceVm, ctx });
          await write(ns, name, status);
          return;
        case "shutDownSource": {
          // Through the VM's own spec, so its controller does not power it on again as drift.
          status.sourcePoweredOff = true;
          await write(ns, name, status);
          await store.update<VirtualMachine>(
            Kind.VIRTUAL_MACHINE,
            ns,
            sourceVm?.metadata?.name ?? "",
            (vm) => {
              if (!vm.spec || !vm.metadata) return;
              vm.spec.powerState = PowerState.OFF_GRACEFUL;
              vm.spec.lifecycle ??= create(VirtualMachineLifecycleSchema);
              vm.spec.lifecycle.gracefulShutdownTimeout ||= shutdownTimeout;
              vm.metadata.generation += 1n;
            },
          );
          record({
            type: "Normal",
            reason: "ShuttingDown",
            message: `asked ${sourceVm?.metadata?.name} to shut down`,
          });
          return;
        }
        case "takeSnapshot": {
          if (!sourceConn || !sourceVm?.status?.id) return { requeueAfterMs: 5_000 };
          try {
            const made = await sourceConn.client.snapshotCreate({
              vmId: sourceVm.status.id,
              name: step.name,
              description: `for VMMigration ${ns}/${name}`,
            });
            status.snapshotId = made.snapshotId;
            status.snapshotCreated = true;
            await write(ns, name, status);
            if (made.task) await sourceConn.client.waitForTask(made.task);
          } catch (err) {
            if (!ProviderError.is(err, ErrorReason.UNSUPPORTED) || status.snapshotId)
              return refused(err, "taking a snapshot of the source");
            // The provider snapshots some VMs and not this one (libvirt: UEFI, a raw disk): cold.
            status.finalSync = false;
            status.phase = MigrationPhase.EXPORTING;
            record({
              type: "Normal",
              reason: "ColdMigration",
              message: `${ProviderError.from(err).message}: ${sourceVm.metadata?.name} is shut down for a cold export instead of a live one`,
            });
          }
          continue;
        }
        case "describeSource": {
          if (!sourceConn || !sourceVm?.status?.id) return { requeueAfterMs: 5_000 };
          const vmId = sourceVm.status.id;
          try {
            const [disks, vm] = await Promise.all([
              sourceConn.client.describeDisks({ vmId }),
              sourceConn.client.describe({ vmId }),
            ]);
            state.described = {
              disks: disks.disks,
              macAddresses: (vm.vm?.resources?.networkInterfaces ?? []).map((n) => n.macAddress),
            };
          } catch (err) {
            return refused(err, "describing the source's disks and NICs");
          }
          continue;
        }
        case "beginExport": {
          const disk = status.disks[step.index];
          if (!sourceConn || !sourceVm?.status?.id || !disk) return { requeueAfterMs: 5_000 };
          // Recorded first: a cleanup ends every export status.disks names.
          await write(ns, name, status);
          try {
            const request = {
              exportId: disk.exportId,
              vmId: sourceVm.status.id,
              diskName: disk.name,
              format: imageFormatOf(status.transferFormat),
              snapshotId: status.snapshotId,
            };
            const made = await exportDisk(sourceConn.client, request, {
              onTask: async (task) => {
                status.taskRef = task.id;
                await write(ns, name, status);
              },
            });
            status.taskRef = "";
            disk.sizeBytes = made.sizeBytes;
            disk.sourceChecksum = made.sha256;
          } catch (err) {
            return refused(err, `exporting disk ${disk.name}`);
          }
          record({
            type: "Normal",
            reason: "Exported",
            message: `disk ${disk.name}: ${disk.sizeBytes} bytes, sha256 ${disk.sourceChecksum}`,
          });
          await write(ns, name, status);
          continue;
        }
        case "beginSyncExport": {
          const disk = status.disks[step.index];
          if (!sourceConn || !sourceVm?.status?.id || !disk) return { requeueAfterMs: 5_000 };
          const syncExportId = transferIds(meta.uid, disk.name).syncExportId;
          try {
            const made = await exportDisk(
              sourceConn.client,
              syncExportRequest(disk.name, syncExportId, sourceVm.status.id, status.snapshotId),
              {
                onTask: async (task) => {
                  status.taskRef = task.id;
                  await write(ns, name, status);
                },
              },
            );
            status.taskRef = "";
            disk.syncExportId = syncExportId;
            disk.syncBytes = made.changedRanges.reduce((n, r) => n + r.length, 0n);
            record({
              type: "Normal",
              reason: "ChangesExported",
              message: `disk ${disk.name}: ${disk.syncBytes} bytes in ${made.changedRanges.length} range(s) changed since the snapshot, of ${made.sizeBytes}`,
            });
          } catch (err) {
            return refused(err, `exporting the changes of disk ${disk.name}`);
          }
          await write(ns, name, status);
          continue;
        }
        case "transfer":
          await write(ns, name, status);
          transfers.start(key, migration, status, step.leg, {
            source: sourceConn,
            target: targetConn,
            sourceVmId: sourceVm?.status?.id ?? "",
          });
          return;
        case "releaseSource": {
          // Staged whole: the source's exports and snapshot are not needed any more.
          try {
            await releaseSource(status, sourceVm, sourceConn);
          } catch (err) {
            return refused(err, "releasing the source's exports");
          }
          status.sourceReleased = true;
          record({
            type: "Normal",
            reason: "SourceReleased",
            message: `the exports of ${sourceVm?.metadata?.name} are ended${status.snapshotCreated ? " and its snapshot removed" : ""}`,
          });
          await write(ns, name, status);
          continue;
        }
        case "commitImport": {
          const disk = status.disks[step.index];
          if (!targetConn || !disk) return { requeueAfterMs: 5_000 };
          try {
            // After a final sync the file is the disk at cutover, with its own SHA-256.
            const request = {
              importId: disk.importId,
              sha256: disk.synced ? disk.sourceChecksum : "",
            };
            let answer = await targetConn.client.diskImportCommit(request);
            if (answer.task) {
              await targetConn.client.waitForTask(answer.task);
              answer = await targetConn.client.diskImportCommit(request);
            }
            disk.committed = answer.import?.committed ?? false;
            if (disk.committed) disk.targetChecksum = disk.sourceChecksum;
            if (disk.committed) confirmed.add(disk.importId);
          } catch (err) {
            if (!ProviderError.is(err, ErrorReason.NOT_FOUND))
              return refused(err, `committing disk ${disk.name}`);
            // The target lost the import (it restarted without keeping it): send the disk again.
            disk.committed = false;
            disk.verifiedOffset = 0n;
            disk.targetChecksum = "";
            if (disk.synced) {
              // Sent whole again from the export at cutover, then synced again (changing nothing).
              disk.synced = false;
              disk.syncedBytes = 0n;
            }
            status.phase = MigrationPhase.TRANSFERRING;
            record({
              type: "Warning",
              reason: "ImportLost",
              message: `${targetKey} no longer holds import ${disk.importId} of disk ${disk.name}: sending it again`,
            });
          }
          await write(ns, name, status);
          continue;
        }
        case "declareTarget": {
          const made = targetVmOf(migration, sourceVm, status);
          if (!made) return;
          await store.createOwned(Kind.VIRTUAL_MACHINE, made, [vmFinalizer]);
          record({
            type: "Normal",
            reason: "TargetDeclared",
            message: `VirtualMachine ${targetNs}/${made.metadata?.name} declared on ${targetKey}`,
          });
          state.targetVm = made;
          continue;
        }
        case "cleanUp": {
          const done = await cleanUp(status, { keepTarget: true, keepSourcePower: true });
          if (!done.finished) return { requeueAfterMs: 5_000 };
          status.cleanedUp = true;
          if (status.storageInfo) status.storageInfo.cleanedUp = true;
          continue;
        }
        case "deleteSource": {
          if (sourceVm?.metadata && !sourceVm.metadata.deletionTimestamp)
            await store.requestDelete(Kind.VIRTUAL_MACHINE, ns, sourceVm.metadata.name);
          status.sourceDeleted = true;
          record({
            type: "Normal",
            reason: "SourceDeleted",
            message: `VirtualMachine ${sourceVm?.metadata?.name} deleted, as deleteAfterMigration asks`,
          });
          continue;
        }
      }
    }
  }
  return { reconcile, close: () => transfers.stopAll() };
}
