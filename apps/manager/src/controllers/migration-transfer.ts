import { create } from "@bufbuild/protobuf";
import { type CopyDiskProgress, DiskExportSchema, copyDisk } from "@virtrigaud/contracts";
import {
  Kind,
  MigrationPhase,
  MigrationProgressSchema,
  type VMMigration,
  type VMMigrationStatus,
} from "@virtrigaud/proto/manager";
import type { ControllerContext } from "./context.js";
import { splitKey } from "./context.js";
import { imageFormatOf } from "./migration-formats.js";
import type { TransferOutcome } from "./migration-plan.js";
import { transferProgress } from "./migration-progress.js";
import type { ProviderConnection } from "./provider-connection.js";
import { judgeRefusal } from "./refusals.js";

/** The least time between two writes of a transfer's progress. */
const progressIntervalMs = 1_000;

/** The transfers running in this manager, one per migration. */
export interface TransferRuns {
  /** Starts copying the disks not yet committed, unless a copy of `key` runs already. */
  start(
    key: string,
    migration: VMMigration,
    status: VMMigrationStatus,
    source: ProviderConnection,
    target: ProviderConnection,
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

interface Run {
  abort: AbortController;
  outcome: TransferOutcome;
}

/**
 * Copies a migration's disks with the contract's `copyDisk`, one disk after
 * the other, through this manager: each chunk's SHA-256 is checked on the
 * way and the whole file's by the target at commit. The progress (every
 * disk's verified offset and bytes sent, the rate, the time left) is written
 * to the migration's status at most once a second. A copy that stops (the
 * manager killed, a provider down) is started again by the plan and resumes
 * from the target's received_bytes, the import id being the same.
 */
export function createTransferRuns(ctx: ControllerContext): TransferRuns {
  const runs = new Map<string, Run>();

  async function copyAll(
    key: string,
    run: Run,
    migration: VMMigration,
    status: VMMigrationStatus,
    source: ProviderConnection,
    target: ProviderConnection,
  ): Promise<void> {
    const { namespace: ns, name } = splitKey(key);
    const disks = status.disks.map((d) => ({ ...d }));
    const placement = migration.spec?.target?.placement;
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
            d.verifiedOffset = seen.verifiedOffset;
            d.sentBytes = seen.sentBytes;
            d.corruptedChunks = seen.corruptedChunks;
            d.committed = seen.committed;
            d.targetChecksum = seen.targetChecksum;
          }
          s.progress ??= create(MigrationProgressSchema);
          Object.assign(s.progress, transferProgress(s.disks, phaseEnds ? 0 : rate));
        });
      });
      return writes;
    };

    for (const disk of disks) {
      if (disk.committed) continue;
      const sentBefore = disk.sentBytes;
      const result = await copyDisk({
        source: source.client,
        target: target.client,
        export: create(DiskExportSchema, {
          id: disk.exportId,
          format: imageFormatOf(status.transferFormat),
          sizeBytes: disk.sizeBytes,
          sha256: disk.sourceChecksum,
          capacityBytes: disk.capacityBytes,
        }),
        importId: disk.importId,
        ...(placement
          ? {
              placement: {
                datastore: placement.datastore,
                host: placement.host,
                folder: placement.folder,
                cluster: placement.cluster,
                resourcePool: placement.resourcePool,
              },
            }
          : {}),
        signal: run.abort.signal,
        onProgress: (p: CopyDiskProgress) => {
          disk.verifiedOffset = BigInt(p.verifiedBytes);
          disk.sentBytes = sentBefore + BigInt(p.writtenBytes);
          const now = ctx.now();
          if (now - lastWrite >= progressIntervalMs) {
            lastWrite = now;
            void persist(false, p.bytesPerSecond);
          }
        },
      });
      disk.verifiedOffset = disk.sizeBytes;
      disk.sentBytes = sentBefore + BigInt(result.writtenBytes);
      disk.corruptedChunks += result.resentChunks;
      disk.committed = result.import.committed;
      // The target checked the whole file against the export's SHA-256 at commit.
      if (disk.committed) disk.targetChecksum = disk.sourceChecksum;
      ctx.event(
        Kind.VM_MIGRATION,
        migration,
        "Normal",
        "DiskTransferred",
        `disk ${disk.name}: ${disk.sizeBytes} bytes, resumed from ${result.resumedFromBytes}, ${result.writtenBytes} written, ${result.resentChunks} chunk(s) sent again`,
      );
      await persist(false, 0);
    }
    await persist(true, 0);
    await writes;
  }

  return {
    start(key, migration, status, source, target) {
      if (runs.get(key)?.outcome.state === "running") return;
      const run: Run = { abort: new AbortController(), outcome: { state: "running" } };
      runs.set(key, run);
      copyAll(key, run, migration, status, source, target)
        .then(
          () => {
            run.outcome = { state: "done" };
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
