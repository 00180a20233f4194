/**
 * The VMMigration controller's decisions, apart from its effects: pure
 * functions of the migration, its source and target, its status and what
 * the providers report, each returning the next step.
 * `migration-controller.ts` carries them out.
 */
import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { type Capabilities, type DiskInfo, ImageFormat } from "@virtrigaud/contracts";
import {
  CircuitState,
  CleanupPolicy,
  DiskFormat,
  LocalObjectReferenceSchema,
  MigrationDiskInfoSchema,
  MigrationPhase,
  MigrationProgressSchema,
  MigrationStorageInfoSchema,
  type MigrationDiskStatus,
  MigrationDiskStatusSchema,
  PowerState,
  type VMMigration,
  type VMMigrationStatus,
  VMMigrationStatusSchema,
  type VMSnapshot,
  ValidationResultsSchema,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { durationMs } from "../manifest/quantities.js";
import { isTrue, setCondition } from "./conditions.js";
import { commonFormat, diskFormatOf, imageFormatOf, transferIds } from "./migration-formats.js";
import { syncProgress, transferProgress } from "./migration-progress.js";
import { providerKeyOf } from "./references.js";

/** Annotation on a VirtualMachine made by a VMMigration: the migration's uid. */
export const migrationAnnotation = "virtrigaud.io/migration";

/** An event to record about a VMMigration. */
export interface MigrationEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** A provider as the plan sees it. */
export interface ProviderFacts {
  key: string;
  circuit: CircuitState;
  capabilities: Capabilities | undefined;
}

/** How the transfer of the disks went, when it ran in this manager. */
export type TransferOutcome =
  | { state: "running" }
  | { state: "done"; leg: TransferLeg }
  | { state: "failed"; outage: boolean; message: string };

/** The source VM as its provider describes it before the export. */
interface SourceDescription {
  /** DescribeDisks' answer, the boot disk first. */
  disks: DiskInfo[];
  /** The NICs' MAC addresses in NIC order. */
  macAddresses: string[];
}

/** What the plan needs to know. */
export interface MigrationFacts {
  migration: VMMigration;
  /** The status as it stands (never changed by the plan). */
  status: VMMigrationStatus;
  now: number;
  sourceVm: VirtualMachine | undefined;
  /** The VMSnapshot spec.source.snapshotRef names, if any and it exists. */
  snapshot: VMSnapshot | undefined;
  /** The VirtualMachine spec.target names, if it exists. */
  targetVm: VirtualMachine | undefined;
  source: ProviderFacts | undefined;
  target: ProviderFacts | undefined;
  /** The manager's staging directory (--migration-staging-dir), for migrations with spec.storage. */
  stagingDir: string | undefined;
  /** What the source's provider said of its disks and NICs; undefined before it was asked. */
  described: SourceDescription | undefined;
  transfer: TransferOutcome | undefined;
  /** Waits in a row for an unavailable provider so far: each waits longer. */
  outageWaits: number;
  /**
   * Imports the target confirmed committed in this reconcile: every one is
   * asked again before the target VM is declared, since a target that
   * restarted may have lost one.
   */
  confirmedImports: ReadonlySet<string>;
}

/**
 * Where a copy of the disks goes: from the source straight to the target
 * ("direct"), or with spec.storage from the source into the staging
 * directory ("stage") and later out of it to the target ("unstage"). A live
 * migration copies "direct" from the snapshot, then "sync"s the ranges
 * changed since the snapshot once the source is shut down.
 */
export type TransferLeg = "direct" | "stage" | "unstage" | "sync";

/** The copy the disks need next. */
function transferLeg(migration: VMMigration, status: VMMigrationStatus): TransferLeg {
  if (status.finalSync && status.disks.every((d) => copiedForSync(d))) return "sync";
  if (!migration.spec?.storage) return "direct";
  return status.disks.every((d) => d.staged) ? "unstage" : "stage";
}

/**
 * Whether the target holds the whole disk as it was at the snapshot,
 * uncommitted, ready for the final sync (or has it committed already).
 */
export function copiedForSync(d: MigrationDiskStatus): boolean {
  return d.committed || (d.sizeBytes > 0n && d.verifiedOffset >= d.sizeBytes);
}

/**
 * Why a running source cannot be migrated live (exported from a snapshot,
 * then brought up to date by a final sync at cutover), or undefined when
 * it can: the source must export the ranges changed since a snapshot, the
 * target take them into an import it holds, both in RAW (whose offsets are
 * the guest's), and the copy must go straight to the target.
 */
function liveRefusal(
  migration: VMMigration,
  source: ProviderFacts,
  target: ProviderFacts | undefined,
): string | undefined {
  const asked = migration.spec?.options?.diskFormat;
  if (migration.spec?.storage) return "a staged migration (spec.storage) has no final sync";
  if (!source.capabilities?.diskExportChangedRanges)
    return `provider ${source.key} cannot export the ranges changed since a snapshot`;
  if (!target?.capabilities?.diskImportRewrites)
    return `provider ${target?.key ?? "of the target"} cannot take a final sync into an import`;
  if (
    !source.capabilities.diskExportFormats.includes(ImageFormat.RAW) ||
    !target.capabilities.diskImportFormats.includes(ImageFormat.RAW)
  )
    return `providers ${source.key} and ${target.key} do not both move RAW, the format of a final sync`;
  if (asked && asked !== DiskFormat.RAW)
    return `spec.options.diskFormat asks for ${DiskFormat[asked]}; a final sync moves RAW`;
  return undefined;
}

/** What the VMMigration controller does next. */
type MigrationStep =
  /** Nothing to do. */
  | { kind: "none" }
  /** Write the status, and look again after `afterMs` (or when woken). */
  | { kind: "wait"; afterMs?: number }
  /** Failed: write the status; clean up first when the policy says so. */
  | { kind: "fail"; cleanUp: boolean }
  /** Ask the source VM's controller to shut the guest down (spec.powerState OffGraceful). */
  | { kind: "shutDownSource" }
  /** Take a snapshot of the source to export from, named `name`. */
  | { kind: "takeSnapshot"; name: string }
  /** Describe the source VM's disks and NICs, and plan again. */
  | { kind: "describeSource" }
  /** DiskExportBegin of the disk at `index` of status.disks. */
  | { kind: "beginExport"; index: number }
  /** DiskExportBegin of the disk at `index` as it is now, with the ranges changed since the snapshot. */
  | { kind: "beginSyncExport"; index: number }
  /** Run (or keep running) the copy of every disk along `leg`. */
  | { kind: "transfer"; leg: TransferLeg }
  /** Staged: end the exports and remove the migration's snapshot, as the source is not needed now. */
  | { kind: "releaseSource" }
  /** DiskImportCommit of the disk at `index`. */
  | { kind: "commitImport"; index: number }
  /** Create the target VirtualMachine. */
  | { kind: "declareTarget" }
  /** End the exports and remove the snapshot the migration took. */
  | { kind: "cleanUp" }
  /** Delete the source VirtualMachine. */
  | { kind: "deleteSource" };

/** The plan: the status to carry on with, events to record, and the step. */
export interface MigrationPlan {
  status: VMMigrationStatus;
  events: MigrationEvent[];
  step: MigrationStep;
}

const defaultTimeoutMs = 4 * 3600_000;

/** Names of phases, for messages and events. */
const phaseNames: Record<MigrationPhase, string> = {
  [MigrationPhase.UNSPECIFIED]: "",
  [MigrationPhase.PENDING]: "Pending",
  [MigrationPhase.VALIDATING]: "Validating",
  [MigrationPhase.SNAPSHOTTING]: "Snapshotting",
  [MigrationPhase.EXPORTING]: "Exporting",
  [MigrationPhase.TRANSFERRING]: "Transferring",
  [MigrationPhase.CONVERTING]: "Converting",
  [MigrationPhase.IMPORTING]: "Importing",
  [MigrationPhase.CREATING]: "Creating",
  [MigrationPhase.VALIDATING_TARGET]: "Validating-Target",
  [MigrationPhase.READY]: "Ready",
  [MigrationPhase.FAILED]: "Failed",
};

/** The name of the target VirtualMachine's namespace. */
export function targetNamespace(m: VMMigration): string {
  return m.spec?.target?.namespace || m.metadata?.namespace || "default";
}

/** The wait after `attempt` failed tries in a row, from the retry policy (default 10s, x2, at most 5 minutes). */
export function retryDelayMs(m: VMMigration, attempt: number): number {
  const policy = m.spec?.options?.retryPolicy;
  const first = policy?.retryDelay ? durationMs(policy.retryDelay) : 10_000;
  const factor = policy?.backoffMultiplier || 2;
  return Math.min(5 * 60_000, first * factor ** Math.max(0, attempt - 1));
}

/**
 * The wait before looking again at a provider that was unavailable `waits`
 * times in a row: 1s, doubling, at most 30s. The provider's own health
 * probes wake the migration sooner when its circuit closes.
 */
export function outageBackoffMs(waits: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, waits));
}

/** The next step for a VMMigration: a pure function of `facts`. */
export function planMigration(facts: MigrationFacts): MigrationPlan {
  const { migration, now, sourceVm, targetVm } = facts;
  const meta = migration.metadata;
  const spec = migration.spec;
  const generation = meta?.generation ?? 0n;
  const status = clone(VMMigrationStatusSchema, facts.status);
  const events: MigrationEvent[] = [];
  const plan = (step: MigrationStep): MigrationPlan => ({ status, events, step });
  const ready = (ok: boolean, reason: string, message = "") =>
    setCondition(
      status.conditions,
      { type: "Ready", status: ok, reason, message },
      generation,
      now,
    );
  const enter = (phase: MigrationPhase, message: string) => {
    if (status.phase !== phase) {
      events.push({ type: "Normal", reason: phaseNames[phase].replace("-", ""), message });
      status.progress ??= create(MigrationProgressSchema);
      status.progress.currentPhase = phase;
      status.progress.phaseStartTime = timestampFromMs(now);
    }
    status.phase = phase;
    status.message = message;
    ready(false, phaseNames[phase].replace("-", ""), message);
  };
  const wait = (reason: string, message: string, afterMs?: number): MigrationPlan => {
    status.message = message;
    ready(false, reason, message);
    return plan(afterMs === undefined ? { kind: "wait" } : { kind: "wait", afterMs });
  };
  const cleanupPolicy = spec?.options?.cleanupPolicy || CleanupPolicy.ON_SUCCESS;
  const fail = (reason: string, message: string): MigrationPlan => {
    status.phase = MigrationPhase.FAILED;
    status.message = message;
    status.observedGeneration = generation;
    status.completionTime = timestampFromMs(now);
    ready(false, reason, message);
    events.push({ type: "Warning", reason, message });
    return plan({ kind: "fail", cleanUp: cleanupPolicy === CleanupPolicy.ALWAYS });
  };

  if (!meta || meta.deletionTimestamp) return plan({ kind: "none" });
  if (status.phase === MigrationPhase.READY) return plan({ kind: "none" });
  if (status.phase === MigrationPhase.FAILED) return plan({ kind: "none" });
  const targetName = spec?.target?.name ?? "";
  const sourceName = spec?.source?.vmRef?.name ?? "";

  // The timeout runs from the start, whatever the phase.
  const started = status.startTime ? timestampMs(status.startTime) : undefined;
  const timeout = spec?.options?.timeout ? durationMs(spec.options.timeout) : defaultTimeoutMs;
  if (started !== undefined && now - started > timeout)
    return fail("Timeout", `the migration did not finish within ${spec?.options?.timeout || "4h"}`);

  if (!status.phase || status.phase === MigrationPhase.PENDING) {
    status.startTime = timestampFromMs(now);
    enter(MigrationPhase.VALIDATING, `checking ${sourceName} and the target provider`);
  }

  if (status.phase === MigrationPhase.VALIDATING) {
    if (!sourceVm) return fail("SourceNotFound", `VirtualMachine ${sourceName} does not exist`);
    if (!sourceVm.status?.id || !isTrue(sourceVm.status.conditions, "Ready"))
      return wait("SourceNotReady", `VirtualMachine ${sourceName} is not Ready`);
    const sourceKey = providerKeyOf(sourceVm);
    const ns = meta.namespace || "default";
    const named = spec?.source?.providerRef;
    if (named && `${named.namespace || ns}/${named.name}` !== sourceKey)
      return fail(
        "InvalidSpec",
        `spec.source.providerRef: ${sourceVm.metadata?.name} runs on ${sourceKey}`,
      );
    if (targetVm && targetVm.metadata?.annotations[migrationAnnotation] !== meta.uid)
      return fail(
        "TargetExists",
        `VirtualMachine ${targetName} exists and was not made by this migration`,
      );
    const staging = Boolean(spec?.storage);
    if (staging && !facts.stagingDir)
      return fail(
        "StagingUnavailable",
        "spec.storage: this manager has no staging directory (--migration-staging-dir)",
      );
    // Staged, the target may come up later: only the source is needed now.
    const needed = staging ? [facts.source] : [facts.source, facts.target];
    const unavailable = needed.find((p) => !usable(p));
    if (unavailable || !facts.source || (!staging && !facts.target))
      return wait(
        "ProviderUnavailable",
        `provider ${unavailable?.key ?? "of the source or target"} is unavailable`,
        outageBackoffMs(facts.outageWaits),
      );
    const exports = facts.source.capabilities?.diskExportFormats ?? [];
    const target = usable(facts.target) ? facts.target : undefined;
    // Unknown while a staged migration's target is down: the source's own formats then.
    const imports = target?.capabilities?.diskImportFormats;
    if (!exports.length)
      return fail("Unsupported", `provider ${facts.source.key} exports no disks`);
    if (target && !imports?.length)
      return fail("Unsupported", `provider ${target.key} imports no disks`);
    const format = commonFormat(exports, imports ?? exports, spec?.options?.diskFormat);
    if (!format)
      return fail(
        "Unsupported",
        target
          ? `providers ${facts.source.key} and ${target.key} have no disk format in common`
          : `provider ${facts.source.key} exports no format a disk travels in`,
      );
    if (staging)
      status.storageInfo = create(MigrationStorageInfoSchema, {
        url: `file://${facts.stagingDir}/${meta.uid}`,
      });
    status.transferFormat = format;
    if (spec?.source?.snapshotRef) {
      const snap = facts.snapshot;
      if (!facts.source.capabilities?.diskExportFromSnapshot)
        return fail("Unsupported", `provider ${facts.source.key} cannot export from a snapshot`);
      if (!snap?.status?.snapshotId)
        return wait("SnapshotNotReady", `VMSnapshot ${spec.source.snapshotRef.name} is not ready`);
      status.snapshotRef = spec.source.snapshotRef.name;
      status.snapshotId = snap.status.snapshotId;
      enter(
        MigrationPhase.EXPORTING,
        `exporting the disks of ${sourceName} at snapshot ${status.snapshotRef}`,
      );
    } else if (
      facts.source.capabilities?.diskExportFromSnapshot &&
      spec?.source?.createSnapshot !== false &&
      !spec?.source?.powerOffBeforeMigration
    ) {
      // A running guest writes on after the snapshot: without a final sync
      // those writes would be lost, so it is shut down for a cold export.
      const running = sourceVm.status.powerState !== PowerState.OFF;
      const refusal = running ? liveRefusal(migration, facts.source, target) : undefined;
      if (refusal) {
        events.push({
          type: "Normal",
          reason: "ColdMigration",
          message: `${refusal}: ${sourceName} is shut down for a cold export instead of a live one`,
        });
        enter(MigrationPhase.EXPORTING, `exporting the disks of ${sourceName}`);
      } else {
        if (running) {
          status.finalSync = true;
          status.transferFormat = DiskFormat.RAW;
        }
        enter(
          MigrationPhase.SNAPSHOTTING,
          running
            ? `taking a snapshot of ${sourceName} to export from while it runs; a final sync follows at cutover`
            : `taking a snapshot of ${sourceName} to export from`,
        );
      }
    } else {
      enter(MigrationPhase.EXPORTING, `exporting the disks of ${sourceName}`);
    }
  }

  if (status.phase === MigrationPhase.SNAPSHOTTING) {
    if (!status.snapshotId)
      return plan({ kind: "takeSnapshot", name: `migration-${meta.uid.slice(0, 8)}` });
    enter(MigrationPhase.EXPORTING, `exporting the disks of ${sourceName} at the snapshot taken`);
  }

  if (status.phase === MigrationPhase.EXPORTING) {
    if (!status.snapshotId) {
      // Cold: the guest shuts down first (gracefully), and stays off.
      const power = sourceVm?.status?.powerState;
      if (power !== PowerState.OFF) {
        if (!status.sourcePoweredOff) return plan({ kind: "shutDownSource" });
        return wait("ShuttingDown", `waiting for ${sourceName} to shut down`);
      }
    }
    if (!status.disks.length) {
      if (facts.described === undefined) return plan({ kind: "describeSource" });
      if (!facts.described.disks.length)
        return fail("NoDisks", `VirtualMachine ${sourceName} has no disks`);
      status.disks = facts.described.disks.map((d) => diskStatus(migration, d));
      status.sourceMacAddresses = facts.described.macAddresses.map((mac) => mac.toLowerCase());
      const root = status.disks[0];
      status.exportId = root?.exportId ?? "";
      status.importId = root?.importId ?? "";
      events.push({
        type: "Normal",
        reason: "DisksFound",
        message: status.disks.map((d) => `${d.name} (${d.capacityBytes} bytes)`).join(", "),
      });
    }
    const pending = status.disks.findIndex((d) => !d.sourceChecksum);
    if (pending >= 0) return plan({ kind: "beginExport", index: pending });
    status.progress ??= create(MigrationProgressSchema);
    status.progress.totalBytes = transferProgress(
      status.disks,
      0,
      Boolean(spec?.storage),
    ).totalBytes;
    enter(MigrationPhase.TRANSFERRING, legMessage(transferLeg(migration, status)));
  }

  if (status.phase === MigrationPhase.TRANSFERRING) {
    const outcome = facts.transfer;
    if (outcome?.state === "running") return plan({ kind: "none" });
    const leg = transferLeg(migration, status);
    const syncPending = status.finalSync && !status.disks.every((d) => d.synced);
    if (outcome?.state === "done" && outcome.leg !== "stage" && !syncPending) {
      // Synced: the progress shows the whole move again, not the sync's bytes.
      if (status.finalSync && status.progress)
        Object.assign(status.progress, transferProgress(status.disks, 0));
      enter(
        MigrationPhase.IMPORTING,
        `committing the imported disks on ${facts.target?.key ?? "the target"}`,
      );
    } else {
      if (outcome?.state === "failed" && !outcome.outage) {
        const max = spec?.options?.retryPolicy?.maxRetries ?? 3;
        if (status.retryCount >= max)
          return fail(
            "TransferFailed",
            `the transfer failed ${status.retryCount + 1} times: ${outcome.message}`,
          );
        status.retryCount += 1;
        status.lastRetryTime = timestampFromMs(now);
        events.push({ type: "Warning", reason: "TransferFailed", message: outcome.message });
        return wait(
          "TransferFailed",
          `${outcome.message}; trying again`,
          retryDelayMs(migration, status.retryCount),
        );
      }
      if (leg === "unstage" && !status.sourceReleased) {
        if (status.storageInfo && !status.storageInfo.uploadedAt) {
          status.storageInfo.uploadedAt = timestampFromMs(now);
          status.storageInfo.size = status.disks.reduce((n, d) => n + d.sizeBytes, 0n);
          events.push({
            type: "Normal",
            reason: "Staged",
            message: `every disk is staged whole in ${status.storageInfo.url}: the source is not needed any more`,
          });
        }
        return plan({ kind: "releaseSource" });
      }
      // Each copy needs only its own ends: staging, the source; out of the stage, the target.
      const ends = {
        direct: [facts.source, facts.target],
        stage: [facts.source],
        unstage: [facts.target],
        sync: [facts.source, facts.target],
      };
      const downAt = ends[leg].findIndex((p) => !p || p.circuit !== CircuitState.CLOSED);
      if (downAt >= 0 || outcome?.state === "failed") {
        // A copy that failed for an outage with both ends up blames its receiver, as it says.
        const at = downAt >= 0 ? downAt : ends[leg].length - 1;
        const end = ends[leg][at];
        const which =
          leg === "stage" || ((leg === "direct" || leg === "sync") && at === 0)
            ? "source"
            : "target";
        const message = `provider ${end?.key ?? `of the ${which}`} is unavailable: waiting to resume the transfer`;
        if (status.message !== message)
          events.push({ type: "Warning", reason: "ProviderUnavailable", message });
        return wait("ProviderUnavailable", message, outageBackoffMs(facts.outageWaits));
      }
      if (leg === "sync") {
        // Cutover: the guest shuts down (gracefully, through its spec) and stays off.
        if (sourceVm?.status?.powerState !== PowerState.OFF) {
          if (!status.sourcePoweredOff) {
            events.push({
              type: "Normal",
              reason: "FinalSync",
              message: `every disk is copied as it was at the snapshot: shutting ${sourceName} down for the final sync`,
            });
            return plan({ kind: "shutDownSource" });
          }
          return wait("ShuttingDown", `waiting for ${sourceName} to shut down for the final sync`);
        }
        const pending = status.disks.findIndex((d) => !d.syncExportId);
        if (pending >= 0) return plan({ kind: "beginSyncExport", index: pending });
        status.progress ??= create(MigrationProgressSchema);
        Object.assign(status.progress, syncProgress(status.disks, 0));
      }
      if (leg === "unstage") {
        const imports = facts.target?.capabilities?.diskImportFormats ?? [];
        if (!imports.includes(imageFormatOf(status.transferFormat)))
          return fail(
            "Unsupported",
            `provider ${facts.target?.key} does not import ${DiskFormat[status.transferFormat]}, the format the disks were staged in`,
          );
      }
      status.message = legMessage(leg);
      ready(false, leg === "sync" ? "FinalSync" : "Transferring", status.message);
      return plan({ kind: "transfer", leg });
    }
  }

  if (status.phase === MigrationPhase.IMPORTING) {
    const pending = status.disks.findIndex(
      (d) => !d.committed || !facts.confirmedImports.has(d.importId),
    );
    if (pending >= 0) return plan({ kind: "commitImport", index: pending });
    enter(
      MigrationPhase.CREATING,
      `creating VirtualMachine ${targetName} on ${facts.target?.key ?? "the target"}`,
    );
  }

  if (status.phase === MigrationPhase.CREATING) {
    if (!targetVm) return plan({ kind: "declareTarget" });
    status.targetVmRef = create(LocalObjectReferenceSchema, { name: targetName });
    enter(MigrationPhase.VALIDATING_TARGET, `waiting for VirtualMachine ${targetName} to be Ready`);
  }

  if (status.phase === MigrationPhase.VALIDATING_TARGET) {
    if (!targetVm) return fail("TargetGone", `VirtualMachine ${targetName} was deleted`);
    if (!isTrue(targetVm.status?.conditions ?? [], "Ready"))
      return wait("TargetNotReady", `waiting for VirtualMachine ${targetName} to be Ready`);
    status.targetVmId = targetVm.status?.id ?? "";
    const root = status.disks[0];
    // The reference's one-disk summary: the boot disk's (every disk is in status.disks).
    if (root)
      status.diskInfo = create(MigrationDiskInfoSchema, {
        sourceDiskId: root.sourceLocation,
        sourceFormat: root.sourceFormat,
        sourceSize: root.capacityBytes,
        targetDiskId: root.importId,
        targetFormat: status.transferFormat,
        targetSize: root.sizeBytes,
        checksum: root.targetChecksum,
        sourceChecksum: root.sourceChecksum,
        targetChecksum: root.targetChecksum,
      });
    const checksums = status.disks.every(
      (d) => d.targetChecksum && d.targetChecksum === d.sourceChecksum,
    );
    const checks = spec?.options?.validationChecks;
    const sizes = targetSizesMatch(status.disks, targetVm);
    status.validationResults = create(ValidationResultsSchema, {
      checksumMatch: checksums,
      bootSuccess: true,
      ...(checks?.checkDiskSize !== false ? { diskSizeMatch: sizes } : {}),
      validationErrors: [
        ...(checksums ? [] : ["a disk's checksum at the target differs from the source's"]),
        ...(checks?.checkDiskSize !== false && !sizes
          ? ["a disk of the target is smaller than the source's"]
          : []),
      ],
    });
    if (status.validationResults.validationErrors.length)
      return fail("ValidationFailed", status.validationResults.validationErrors.join("; "));
    if (!status.cleanedUp && cleanupPolicy !== CleanupPolicy.NEVER)
      return plan({ kind: "cleanUp" });
    if (spec?.source?.deleteAfterMigration && !status.sourceDeleted)
      return plan({ kind: "deleteSource" });
    status.phase = MigrationPhase.READY;
    status.message = `VirtualMachine ${targetName} runs on ${facts.target?.key ?? "the target"}`;
    status.completionTime = timestampFromMs(now);
    status.observedGeneration = generation;
    if (status.progress) status.progress.currentPhase = MigrationPhase.READY;
    ready(true, "Completed", status.message);
    events.push({ type: "Normal", reason: "Completed", message: status.message });
    return plan({ kind: "wait" });
  }
  return plan({ kind: "wait" });
}

/** Whether a provider answers and said what it can. */
function usable(p: ProviderFacts | undefined): boolean {
  return !!p && p.circuit === CircuitState.CLOSED && !!p.capabilities;
}

/** What a copy along `leg` does, for the status. */
function legMessage(leg: TransferLeg): string {
  return {
    direct: "copying the disks to the target",
    stage: "staging the disks in the manager's staging directory",
    unstage: "copying the staged disks to the target",
    sync: "final sync: copying the ranges changed since the snapshot to the target",
  }[leg];
}

/** A disk's status before its export begins. */
function diskStatus(m: VMMigration, d: DiskInfo): MigrationDiskStatus {
  const ids = transferIds(m.metadata?.uid ?? "", d.name);
  return create(MigrationDiskStatusSchema, {
    name: d.name,
    sourceFormat: diskFormatOf(d.format),
    capacityBytes: d.capacityBytes,
    exportId: ids.exportId,
    importId: ids.importId,
    sourceLocation: d.location,
  });
}

/** Whether every disk of the target is at least as large as the source's. */
function targetSizesMatch(disks: readonly MigrationDiskStatus[], vm: VirtualMachine): boolean {
  const observed = vm.status?.disks ?? [];
  if (!observed.length) return true;
  return disks.every((d) => {
    const seen = observed.find((o) => o.name === d.name);
    return !seen || BigInt(seen.sizeGib) * 1024n ** 3n >= d.capacityBytes;
  });
}
