import { create } from "@bufbuild/protobuf";
import { join } from "node:path";
import {
  type CopyDiskOptions,
  type CopyDiskProgress,
  type CopyDiskHeld,
  type CopyDiskResult,
  DiskExportSchema,
  ProviderError,
  copyDisk,
  copyDiskForSync,
  pullDisk,
  pullDiskForSync,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import {
  Kind,
  MigrationPhase,
  type MigrationDiskStatus,
  MigrationProgressSchema,
  type VMMigration,
  type VMMigrationStatus,
} from "@virtrigaud/proto/manager";
import type { ControllerContext } from "./context.js";
import { splitKey } from "./context.js";
import { imageFormatOf } from "./migration-formats.js";
import type { TransferLeg, TransferOutcome } from "./migration-plan.js";
import { type DiskStage, createDiskStage } from "../staging/disk-stage.js";
import { syncProgress, transferProgress } from "./migration-progress.js";
import { copiedForSync } from "./migration-plan.js";
import { syncOneDisk } from "./migration-sync.js";
import type { ProviderConnection } from "./provider-connection.js";
import { judgeRefusal } from "./refusals.js";

/** The least time between two writes of a transfer's progress. */
const progressIntervalMs = 1_000;

/** The transfers running in this manager, one per migration. */
export interface TransferRuns {
  /**
   * Starts copying the disks along `leg` (those not yet staged, or not yet
   * committed at the target), unless a copy of `key` runs already.
   */
  start(
    key: string,
    migration: VMMigration,
    status: VMMigrationStatus,
    leg: TransferLeg,
    ends: TransferEnds,
  ): void;
  /** Whether a copy of `key` runs. */
  running(key: string): boolean;
  /** How the last copy of `key` went; undefined when none ran here (or it was forgotten). */
  outcome(key: string): TransferOutcome | undefined;
  /** Forgets the outcome of `key` (the plan acted on it). */
  forget(key: string): void;
  /** Stops the copy of `key` (its migration is being deleted). */
  stop(key: string): void;
  /** Stops every copy (the manager shuts down): each resumes from what its target holds. */
  stopAll(): void;
}

/** The providers a copy reads from and writes to; a leg needs only its own. */
interface TransferEnds {
  source: ProviderConnection | undefined;
  target: ProviderConnection | undefined;
  /** The source VM's id at its provider: a final sync exports its disks again. */
  sourceVmId: string;
}

/** A copy of one disk: where it is read and written, and what of the disk's status it moves. */
interface DiskCopy {
  from: Pick<ProviderClient, "diskExportRead">;
  to: Pick<
    ProviderClient,
    "diskImportBegin" | "diskImportWrite" | "diskImportCommit" | "waitForTask"
  >;
  exportId: string;
  /** Where the target keeps it: a provider's placement; none in the staging directory. */
  placement: CopyDiskOptions["placement"];
  done: boolean;
  progress(verifiedBytes: bigint, writtenBytes: bigint): void;
  finish(result: CopyDiskResult | CopyDiskHeld): void;
}

interface Run {
  abort: AbortController;
  outcome: TransferOutcome;
}

/** Where the target keeps the disks, from spec.target.placement. */
function targetPlacementOf(migration: VMMigration): CopyDiskOptions["placement"] {
  const placement = migration.spec?.target?.placement;
  return (
    placement && {
      datastore: placement.datastore,
      host: placement.host,
      folder: placement.folder,
      cluster: placement.cluster,
      resourcePool: placement.resourcePool,
    }
  );
}

/**
 * Moves a migration's disks, one after the other. Along "direct", where the
 * source shares exports and the target pulls them (disk_export_share,
 * disk_import_pull), the target reads each disk from the source itself
 * (`pullDisk`) and no byte passes through this manager; otherwise, and on
 * the other legs, the contract's `copyDisk` copies it through this manager.
 * Each chunk's SHA-256 is checked on the way and the whole file's by the
 * receiver at commit. Along "direct" the
 * disks go from the source's provider to the target's; with spec.storage,
 * "stage" copies them into the migration's directory of the manager's
 * staging directory and "unstage" from there to the target, so that source
 * and target need not be up at once. The progress (every disk's verified and
 * staged offsets and bytes sent, the rate, the time left) is written to the
 * migration's status at most once a second. A copy that stops (the manager
 * killed, a provider down) is started again by the plan and resumes from
 * what its receiver holds, the import id being the same. A live migration
 * copies at the snapshot without committing (`copyDiskForSync`), then, the
 * source shut down, its "sync" leg writes each disk's changed ranges and
 * commits (`migration-sync.ts`), resuming from `syncedBytes`.
 */
export function createTransferRuns(ctx: ControllerContext): TransferRuns {
  const runs = new Map<string, Run>();

  /** The copy of each disk along `leg`, over `ends` and the stage. */
  function copiesOf(
    migration: VMMigration,
    status: VMMigrationStatus,
    disks: MigrationDiskStatus[],
    leg: TransferLeg,
    ends: TransferEnds,
    stage: DiskStage | undefined,
  ): DiskCopy[] {
    const targetPlacement = targetPlacementOf(migration);
    const source = leg === "unstage" ? stage : ends.source?.client;
    const target = leg === "stage" ? stage : ends.target?.client;
    if (!source || !target) throw ProviderError.unavailable(`the ${leg} copy has no ends`);
    return disks.map((disk) => {
      const sentBefore = disk.sentBytes;
      if (leg === "stage")
        return {
          from: source,
          to: target,
          exportId: disk.exportId,
          placement: undefined,
          done: disk.staged,
          progress: (verified) => {
            disk.stagedOffset = verified;
          },
          finish: (result) => {
            disk.stagedOffset = disk.sizeBytes;
            disk.corruptedChunks += result.resentChunks;
            disk.staged = result.import.committed;
          },
        };
      return {
        from: source,
        to: target,
        // Out of the stage, a disk is read back under its import id; once the
        // source is shut down for a final sync, its export at cutover is the disk.
        exportId: leg === "unstage" ? disk.importId : disk.syncExportId || disk.exportId,
        placement: targetPlacement,
        done: status.finalSync ? copiedForSync(disk) : disk.committed,
        progress: (verified, written) => {
          disk.verifiedOffset = verified;
          disk.sentBytes = sentBefore + written;
        },
        finish: (result) => {
          disk.verifiedOffset = disk.sizeBytes;
          disk.sentBytes = sentBefore + BigInt(result.writtenBytes);
          disk.corruptedChunks += result.resentChunks;
          disk.committed = result.import.committed;
          // The target checked the whole file against the export's SHA-256 at commit.
          if (disk.committed) disk.targetChecksum = disk.sourceChecksum;
          // Held uncommitted for a final sync: the target holds the whole file.
          else disk.verifiedOffset = BigInt(result.import.receivedBytes);
        },
      };
    });
  }

  /** The final sync of every disk not synced yet, one after the other. */
  async function syncAll(
    migration: VMMigration,
    status: VMMigrationStatus,
    disks: MigrationDiskStatus[],
    ends: TransferEnds,
    signal: AbortSignal,
    persist: (phaseEnds: boolean, rate: number) => Promise<void>,
  ): Promise<void> {
    const source = ends.source?.client;
    const target = ends.target?.client;
    if (!source || !target) throw ProviderError.unavailable("the final sync has no ends");
    let lastWrite = 0;
    for (const disk of disks) {
      if (disk.synced) continue;
      const before = disk.sentBytes;
      const { made, result, recopiedBytes } = await syncOneDisk({
        source,
        target,
        placement: targetPlacementOf(migration),
        vmId: ends.sourceVmId,
        snapshotId: status.snapshotId,
        disk,
        signal,
        onProgress: (p) => {
          disk.syncedBytes = BigInt(p.doneBytes);
          disk.sentBytes = before + BigInt(p.writtenBytes);
          const now = ctx.now();
          if (now - lastWrite >= progressIntervalMs) {
            lastWrite = now;
            void persist(false, p.bytesPerSecond);
          }
        },
      });
      disk.sentBytes = before + BigInt(result.writtenBytes + recopiedBytes);
      disk.corruptedChunks += result.resentChunks;
      if (recopiedBytes)
        ctx.event(
          Kind.VM_MIGRATION,
          migration,
          "Warning",
          "ImportLost",
          `disk ${disk.name}: the target had lost part of its import; ${recopiedBytes} bytes copied again from the export at cutover`,
        );
      disk.sizeBytes = made.sizeBytes;
      ctx.event(
        Kind.VM_MIGRATION,
        migration,
        "Normal",
        "FinalSync",
        `disk ${disk.name}: the final sync moved ${result.writtenBytes} bytes (${result.changedBytes} changed since the snapshot, in ${made.changedRanges.length} range(s), of ${made.sizeBytes}); the target holds the disk as it was at cutover, sha256 ${made.sha256}`,
      );
      await persist(false, 0);
    }
  }

  async function copyAll(
    key: string,
    run: Run,
    migration: VMMigration,
    status: VMMigrationStatus,
    leg: TransferLeg,
    ends: TransferEnds,
  ): Promise<void> {
    const { namespace: ns, name } = splitKey(key);
    const staging = Boolean(migration.spec?.storage);
    const disks = status.disks.map((d) => ({ ...d }));
    const stagingDir = ctx.settings.migrationStagingDir;
    const stage =
      staging && stagingDir
        ? createDiskStage(join(stagingDir, migration.metadata?.uid ?? ""))
        : undefined;
    let writes = Promise.resolve();
    let lastWrite = 0;
    const persist = (phaseEnds: boolean, rate: number) => {
      const snapshot = disks.map((d) => ({ ...d }));
      writes = writes.then(async () => {
        await ctx.store.update<VMMigration>(Kind.VM_MIGRATION, ns, name, (copy) => {
          const s = copy.status;
          if (!s || s.phase !== MigrationPhase.TRANSFERRING) return;
          for (const d of s.disks) {
            const seen = snapshot.find((x) => x.name === d.name);
            if (!seen) continue;
            d.sizeBytes = seen.sizeBytes;
            d.sourceChecksum = seen.sourceChecksum;
            d.syncedBytes = seen.syncedBytes;
            d.synced = seen.synced;
            d.verifiedOffset = seen.verifiedOffset;
            d.sentBytes = seen.sentBytes;
            d.corruptedChunks = seen.corruptedChunks;
            d.committed = seen.committed;
            d.targetChecksum = seen.targetChecksum;
            d.stagedOffset = seen.stagedOffset;
            d.staged = seen.staged;
          }
          s.progress ??= create(MigrationProgressSchema);
          const rateNow = phaseEnds ? 0 : rate;
          Object.assign(
            s.progress,
            leg === "sync"
              ? syncProgress(s.disks, rateNow)
              : transferProgress(s.disks, rateNow, staging),
          );
        });
      });
      return writes;
    };

    // Provider to provider where both can: the target reads the source's
    // shared export itself, and no chunk passes through this manager.
    const pulls =
      leg === "direct" &&
      Boolean(ends.source?.capabilities?.diskExportShare) &&
      Boolean(ends.target?.capabilities?.diskImportPull);
    try {
      const copies = leg === "sync" ? [] : copiesOf(migration, status, disks, leg, ends, stage);
      if (leg === "sync") await syncAll(migration, status, disks, ends, run.abort.signal, persist);
      for (const [i, copy] of copies.entries()) {
        const disk = disks[i];
        if (copy.done || !disk) continue;
        const exported = create(DiskExportSchema, {
          id: copy.exportId,
          format: imageFormatOf(status.transferFormat),
          sizeBytes: disk.sizeBytes,
          sha256: disk.sourceChecksum,
          capacityBytes: disk.capacityBytes,
        });
        const placement = copy.placement ? { placement: copy.placement } : {};
        const startedAt = ctx.now();
        const resumedAt = Number(disk.verifiedOffset);
        const report = (verified: number, written: number, rate: number) => {
          copy.progress(BigInt(verified), BigInt(written));
          const now = ctx.now();
          if (now - lastWrite >= progressIntervalMs) {
            lastWrite = now;
            void persist(false, rate);
          }
        };
        // A live migration's copy at the snapshot waits for its final sync.
        const result =
          pulls && ends.source && ends.target
            ? await (status.finalSync ? pullDiskForSync : pullDisk)({
                source: ends.source.client,
                target: ends.target.client,
                export: exported,
                importId: disk.importId,
                ...placement,
                ...(ends.source.caPem ? { sourceCaPem: ends.source.caPem } : {}),
                signal: run.abort.signal,
                onProgress: ({ doneBytes }) => {
                  const written = Math.max(0, doneBytes - resumedAt);
                  const seconds = Math.max(ctx.now() - startedAt, 1) / 1000;
                  report(Math.max(doneBytes, resumedAt), written, written / seconds);
                },
              })
            : await (status.finalSync ? copyDiskForSync : copyDisk)({
                source: copy.from,
                target: copy.to,
                export: exported,
                importId: disk.importId,
                ...placement,
                signal: run.abort.signal,
                onProgress: (p: CopyDiskProgress) =>
                  report(p.verifiedBytes, p.writtenBytes, p.bytesPerSecond),
              });
        copy.finish(result);
        ctx.event(
          Kind.VM_MIGRATION,
          migration,
          "Normal",
          leg === "stage" ? "DiskStaged" : "DiskTransferred",
          pulls
            ? `disk ${disk.name}: ${disk.sizeBytes} bytes, read by the target from the source, resumed from ${result.resumedFromBytes}`
            : `disk ${disk.name}: ${disk.sizeBytes} bytes, resumed from ${result.resumedFromBytes}, ${result.writtenBytes} written, ${result.resentChunks} chunk(s) sent again`,
        );
        await persist(false, 0);
      }
      await persist(true, 0);
      await writes;
    } finally {
      await stage?.close();
    }
  }

  return {
    start(key, migration, status, leg, ends) {
      if (runs.get(key)?.outcome.state === "running") return;
      const run: Run = { abort: new AbortController(), outcome: { state: "running" } };
      runs.set(key, run);
      copyAll(key, run, migration, status, leg, ends)
        .then(
          () => {
            run.outcome = { state: "done", leg };
          },
          (err: unknown) => {
            if (run.abort.signal.aborted) {
              runs.delete(key);
              return;
            }
            const refusal = judgeRefusal(err, 1);
            run.outcome = { state: "failed", outage: refusal.outage, message: refusal.message };
            ctx.logger.warn(
              { migration: key, error: refusal.message },
              "migration transfer stopped",
            );
          },
        )
        .finally(() => {
          if (runs.get(key) === run) ctx.queues.migration.add(key);
        });
    },
    running: (key) => runs.get(key)?.outcome.state === "running",
    outcome: (key) => runs.get(key)?.outcome,
    forget: (key) => {
      if (runs.get(key)?.outcome.state !== "running") runs.delete(key);
    },
    stop: (key) => {
      runs.get(key)?.abort.abort();
      runs.delete(key);
    },
    stopAll: () => {
      for (const run of runs.values()) run.abort.abort();
      runs.clear();
    },
  };
}
