/**
 * The VMSnapshot controller's decisions, apart from its effects: pure
 * functions of the snapshot, its VM, its status and how its task ended,
 * each returning the next step. `snapshot-controller.ts` carries them out.
 */
import { type MessageInitShape, clone } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type {
  SnapshotCreateRequestSchema,
  SnapshotDeleteRequestSchema,
} from "@virtrigaud/contracts";
import {
  SnapshotPhase,
  type VMSnapshot,
  type VMSnapshotStatus,
  VMSnapshotStatusSchema,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { snapshotFinalizer } from "../api/manager-service.js";
import { durationMs } from "../manifest/quantities.js";
import { msOf } from "../store/resource-store.js";
import type { NotShared } from "./namespace-sharing.js";
import { setCondition } from "./conditions.js";
import type { TaskOutcome } from "./tasks.js";

/** An event to record about a VMSnapshot. */
export interface SnapshotEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** What the plan needs to know. */
export interface SnapshotFacts {
  snap: VMSnapshot;
  /** The status as it stands (never changed by the plan). */
  status: VMSnapshotStatus;
  now: number;
  /** The VirtualMachine spec.vmRef names, if it exists. */
  vm: VirtualMachine | undefined;
  /** The VM's provider can be reached. */
  reachable: boolean;
  /** A reference of the VM's spec into a namespace that does not share it: no snapshot is taken. */
  notShared: NotShared | undefined;
  /** How the task in status.taskRef ended; undefined while it runs (or when there is none). */
  task: TaskOutcome | undefined;
  /** The snapshot was just taken (without a task): it is not taken again, whatever id it got. */
  taken: boolean;
}

/** What the VMSnapshot controller does next. */
type SnapshotStep =
  /** Nothing to do. */
  | { kind: "none" }
  /** Write the status and wait to be woken. */
  | { kind: "wait" }
  /** The task in status.taskRef still runs: follow it, write nothing. */
  | { kind: "followTask"; taskId: string }
  /** The provider's task failed: show the refusal of `verb`. */
  | { kind: "taskFailed"; verb: "Create" | "Delete"; error: Error }
  /** Delete the snapshot at the provider, then let the resource go (when no task follows). */
  | { kind: "deleteAtProvider"; request: MessageInitShape<typeof SnapshotDeleteRequestSchema> }
  /** Let the resource go: remove the finalizer, after recording `event`. */
  | { kind: "release"; event: SnapshotEvent }
  /** Its VM went: record `event`, and delete the resource. */
  | { kind: "vmDeleted"; event: SnapshotEvent }
  /** It is older than its maxAge: write the status, record `event`, and delete the resource. */
  | { kind: "expire"; event: SnapshotEvent }
  /** Write the status (the intent), then take the snapshot; plan again after. */
  | { kind: "create"; request: MessageInitShape<typeof SnapshotCreateRequestSchema> }
  /** Ready: write the status, apply retention by count, look again after `requeueAfterMs` (maxAge). */
  | { kind: "ready"; requeueAfterMs: number | undefined };

/** The plan: the status to carry on with, events to record first, and the step. */
export interface SnapshotPlan {
  status: VMSnapshotStatus;
  events: SnapshotEvent[];
  step: SnapshotStep;
}

/** A snapshot retention keeps whatever the count: pinned, with preservePinned (default true). */
function isPinned(snap: VMSnapshot): boolean {
  return (
    (snap.spec?.metadata?.pinned ?? false) && (snap.spec?.retentionPolicy?.preservePinned ?? true)
  );
}

/** The next step for a VMSnapshot: a pure function of `facts`. */
export function planSnapshot(facts: SnapshotFacts): SnapshotPlan {
  const { snap, now, vm } = facts;
  const meta = snap.metadata;
  const generation = meta?.generation ?? 0n;
  const name = meta?.name ?? "";
  const status = clone(VMSnapshotStatusSchema, facts.status);
  const events: SnapshotEvent[] = [];
  const plan = (step: SnapshotStep): SnapshotPlan => ({ status, events, step });
  const ready = (ok: boolean, reason: string, message = "") =>
    setCondition(
      status.conditions,
      { type: "Ready", status: ok, reason, message },
      generation,
      now,
    );
  const vmName = snap.spec?.vmRef?.name ?? "";
  /** Takes the outcome of the task in status.taskRef: a step while it runs or when it failed. */
  const task = (verb: "Create" | "Delete"): SnapshotStep | undefined => {
    if (!status.taskRef) return undefined;
    if (!facts.task) return { kind: "followTask", taskId: status.taskRef };
    status.taskRef = "";
    return facts.task.error ? { kind: "taskFailed", verb, error: facts.task.error } : undefined;
  };

  if (meta?.deletionTimestamp) {
    if (!meta.finalizers.includes(snapshotFinalizer)) return plan({ kind: "none" });
    const vmId = vm?.status?.id;
    if (status.snapshotId && vmId && vmId === status.vmId && !vm?.metadata?.deletionTimestamp) {
      if (!facts.reachable) {
        ready(false, "DeleteBlocked", "the VM's provider is unavailable");
        return plan({ kind: "wait" });
      }
      if (status.taskRef) {
        const step = task("Delete");
        if (step) return plan(step);
      } else {
        status.phase = SnapshotPhase.DELETING;
        return plan({
          kind: "deleteAtProvider",
          request: { vmId, snapshotId: status.snapshotId },
        });
      }
    }
    return plan({
      kind: "release",
      event: { type: "Normal", reason: "Deleted", message: `snapshot of ${vmName} deleted` },
    });
  }

  if (!vm || vm.metadata?.deletionTimestamp) {
    if (status.snapshotId && (snap.spec?.retentionPolicy?.deleteOnVmDelete ?? true)) {
      return plan({
        kind: "vmDeleted",
        event: {
          type: "Normal",
          reason: "VMDeleted",
          message: `VirtualMachine ${vmName} was deleted`,
        },
      });
    }
    if (!status.snapshotId) {
      status.phase = SnapshotPhase.PENDING;
      ready(false, "VMNotFound", `VirtualMachine ${vmName} does not exist`);
      return plan({ kind: "wait" });
    }
    return plan({ kind: "none" });
  }
  const vmId = vm.status?.id;
  if (!vmId) {
    status.phase = SnapshotPhase.PENDING;
    ready(false, "VMNotReady", `VirtualMachine ${vmName} is not created yet`);
    return plan({ kind: "wait" });
  }
  if (status.phase === SnapshotPhase.FAILED && status.observedGeneration === generation)
    return plan({ kind: "none" });
  if (facts.notShared && !status.snapshotId && !status.taskRef) {
    status.phase = SnapshotPhase.PENDING;
    ready(
      false,
      "ReferenceNotShared",
      `VirtualMachine ${vmName}: ${facts.notShared.field}: ${facts.notShared.message}`,
    );
    return plan({ kind: "wait" });
  }
  if (!facts.reachable) {
    ready(false, "ProviderUnavailable", "the VM's provider is unavailable");
    return plan({ kind: "wait" });
  }
  const step = task("Create");
  if (step) return plan(step);

  if (!status.snapshotId && !facts.taken) {
    const config = snap.spec?.snapshotConfig;
    status.phase = SnapshotPhase.CREATING;
    status.vmId = vmId;
    ready(false, "Creating");
    return plan({
      kind: "create",
      request: {
        vmId,
        name: config?.name || name,
        description: config?.description ?? "",
        includeMemory: config?.includeMemory ?? false,
        quiesce: config?.quiesce ?? false,
      },
    });
  }

  if (status.phase !== SnapshotPhase.READY) {
    status.phase = SnapshotPhase.READY;
    status.completionTime = timestampFromMs(now);
    events.push({
      type: "Normal",
      reason: "Created",
      message: `snapshot ${status.snapshotId} of ${vmName} is ready`,
    });
  }
  ready(true, "Created");
  status.message = "";
  status.observedGeneration = generation;

  // Retention by age.
  const policy = snap.spec?.retentionPolicy;
  let requeueAfterMs: number | undefined;
  if (policy?.maxAge && !isPinned(snap)) {
    const created = msOf(status.creationTime) ?? now;
    const expiry = created + durationMs(policy.maxAge);
    status.expiryTime = timestampFromMs(expiry);
    if (now >= expiry) {
      status.phase = SnapshotPhase.EXPIRED;
      return plan({
        kind: "expire",
        event: { type: "Normal", reason: "Expired", message: `older than ${policy.maxAge}` },
      });
    }
    requeueAfterMs = expiry - now;
  }
  return plan({ kind: "ready", requeueAfterMs });
}

/**
 * Retention by count: of the snapshots of `vmName` (in `snapshots`, one
 * namespace) that carry a maxCount, are Ready and are not being deleted, the
 * oldest beyond `maxCount` that are not pinned; each with the event to record.
 */
export function planRetention(
  snapshots: readonly VMSnapshot[],
  vmName: string,
  maxCount: number,
): Array<{ snapshot: VMSnapshot; event: SnapshotEvent }> {
  const siblings = snapshots
    .filter(
      (s) =>
        s.spec?.vmRef?.name === vmName &&
        s.spec.retentionPolicy?.maxCount &&
        s.status?.phase === SnapshotPhase.READY &&
        !s.metadata?.deletionTimestamp,
    )
    .sort(
      (a, b) =>
        (msOf(a.status?.creationTime) ?? 0) - (msOf(b.status?.creationTime) ?? 0) ||
        (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
  const excess = siblings.length - maxCount;
  const out: Array<{ snapshot: VMSnapshot; event: SnapshotEvent }> = [];
  for (const s of siblings) {
    if (out.length >= excess) break;
    if (isPinned(s)) continue;
    out.push({
      snapshot: s,
      event: {
        type: "Normal",
        reason: "Retention",
        message: `more than ${maxCount} snapshots of ${vmName}: deleting the oldest`,
      },
    });
  }
  return out;
}
