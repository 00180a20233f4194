import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason } from "@virtrigaud/contracts";
import {
  CircuitState,
  Kind,
  SnapshotPhase,
  type VMSnapshot,
  type VMSnapshotStatus,
  VMSnapshotStatusSchema,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { snapshotFinalizer } from "../api/manager-service.js";
import { durationMs } from "../manifest/quantities.js";
import { msOf } from "../store/resource-store.js";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import type { ProviderConnection } from "./provider-connection.js";
import { RefusalMemory, requestDigest } from "./refusals.js";
import { providerKeyOf } from "./references.js";
import { createTaskFollower } from "./tasks.js";
import type { ReconcileResult } from "./work-queue.js";

/**
 * The VMSnapshot controller: takes the snapshot on the VM's provider,
 * deletes it there before the resource goes, deletes snapshots whose VM was
 * deleted (unless deleteOnVMDelete is false), and applies retention: a
 * snapshot older than maxAge expires, and of the snapshots of one VM that
 * carry a maxCount only the newest maxCount are kept (pinned ones are kept
 * unless preservePinned is false).
 *
 * Every refusal of the provider reaches the snapshot as a Warning event and
 * a Ready=False condition with the provider's message. A snapshot the
 * provider will not take (INVALID_SPEC, UNSUPPORTED, ...) is Failed until its
 * spec changes; other refusals, and refused deletes, are tried again after a
 * backoff.
 */
export function createSnapshotController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();

  const write = (ns: string, name: string, status: VMSnapshotStatus) =>
    store.update<VMSnapshot>(Kind.VM_SNAPSHOT, ns, name, (copy) => {
      copy.status = clone(VMSnapshotStatusSchema, status);
    });

  const tasks = createTaskFollower(ctx, "snapshot");
  const follow = tasks.follow;

  /** Reads a finished task's outcome; undefined while it runs (then it is followed). */
  const taskDone = (conn: ProviderConnection, key: string, status: VMSnapshotStatus) => {
    const outcome = tasks.take(conn, key, status.taskRef);
    if (outcome) status.taskRef = "";
    return outcome;
  };

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const snap = store.get(Kind.VM_SNAPSHOT, ns, name) as VMSnapshot | undefined;
    const meta = snap?.metadata;
    if (!snap || !meta) return;
    const now = ctx.now();
    const generation = meta.generation;
    const status = snap.status
      ? clone(VMSnapshotStatusSchema, snap.status)
      : create(VMSnapshotStatusSchema);
    const vmName = snap.spec?.vmRef?.name ?? "";
    const vm = store.get(Kind.VIRTUAL_MACHINE, ns, vmName) as VirtualMachine | undefined;
    const conn = vm ? ctx.connections.get(providerKeyOf(vm)) : undefined;
    const reachable = conn !== undefined && conn.circuit === CircuitState.CLOSED;
    const ready = (ok: boolean, reason: string, message = "") =>
      setCondition(
        status.conditions,
        { type: "Ready", status: ok, reason, message },
        generation,
        now,
      );
    /**
     * Shows the provider's refusal to take (`Create`) or delete the
     * snapshot, and says when to try again. An outage is thrown: the queue
     * backs off.
     */
    const refused = (verb: "Create" | "Delete", thrown: unknown): ReconcileResult | void => {
      const refusal = refusals.refuse(key, generation, thrown, now);
      status.message = refusal.message;
      if (refusal.outage) {
        ready(false, "ProviderUnavailable", refusal.message);
        write(ns, name, status);
        throw refusal.error;
      }
      let reason = `${verb}Failed`;
      if (verb === "Create") {
        status.snapshotId = "";
        status.phase = refusal.permanent ? SnapshotPhase.FAILED : SnapshotPhase.PENDING;
        // Failed stays until the spec changes.
        if (refusal.permanent) status.observedGeneration = generation;
        if (refusal.error.reason === ErrorReason.UNSUPPORTED) reason = "Unsupported";
        if (refusal.error.reason === ErrorReason.INVALID_SPEC) reason = "InvalidSpec";
      }
      ready(false, reason, refusal.message);
      write(ns, name, status);
      ctx.event(Kind.VM_SNAPSHOT, snap, "Warning", `${verb}Failed`, refusal.message);
      if (verb === "Create" && refusal.permanent) return;
      return { requeueAfterMs: refusal.retryAfterMs };
    };

    if (meta.deletionTimestamp) {
      if (!meta.finalizers.includes(snapshotFinalizer)) return;
      const vmId = vm?.status?.id;
      if (status.snapshotId && vmId && vmId === status.vmId && !vm?.metadata?.deletionTimestamp) {
        if (!reachable) {
          ready(false, "DeleteBlocked", "the VM's provider is unavailable");
          write(ns, name, status);
          return;
        }
        if (status.taskRef) {
          const done = taskDone(conn, key, status);
          if (!done) return;
          if (done.error) return refused("Delete", done.error);
        } else {
          const request = { vmId, snapshotId: status.snapshotId };
          const wait = refusals.ask(key, generation, requestDigest("snapshotDelete", request), now);
          if (wait) return { requeueAfterMs: wait };
          status.phase = SnapshotPhase.DELETING;
          let response;
          try {
            response = await conn.call("snapshotDelete", request);
          } catch (err) {
            return refused("Delete", err);
          }
          ctx.event(
            Kind.VM_SNAPSHOT,
            snap,
            "Normal",
            "Deleting",
            `deleting snapshot ${status.snapshotId} of ${vmName}`,
          );
          if (response.task) {
            status.taskRef = response.task.id;
            write(ns, name, status);
            follow(conn, key, response.task.id);
            return;
          }
        }
      }
      ctx.event(Kind.VM_SNAPSHOT, snap, "Normal", "Deleted", `snapshot of ${vmName} deleted`);
      refusals.forget(key);
      store.update<VMSnapshot>(Kind.VM_SNAPSHOT, ns, name, (copy) => {
        if (copy.metadata)
          copy.metadata.finalizers = copy.metadata.finalizers.filter(
            (f) => f !== snapshotFinalizer,
          );
      });
      return;
    }

    if (!vm || vm.metadata?.deletionTimestamp) {
      if (status.snapshotId && (snap.spec?.retentionPolicy?.deleteOnVmDelete ?? true)) {
        ctx.event(
          Kind.VM_SNAPSHOT,
          snap,
          "Normal",
          "VMDeleted",
          `VirtualMachine ${vmName} was deleted`,
        );
        store.requestDelete(Kind.VM_SNAPSHOT, ns, name);
        return;
      }
      if (!status.snapshotId) {
        status.phase = SnapshotPhase.PENDING;
        ready(false, "VMNotFound", `VirtualMachine ${vmName} does not exist`);
        write(ns, name, status);
      }
      return;
    }
    const vmId = vm.status?.id;
    if (!vmId) {
      status.phase = SnapshotPhase.PENDING;
      ready(false, "VMNotReady", `VirtualMachine ${vmName} is not created yet`);
      write(ns, name, status);
      return;
    }
    if (status.phase === SnapshotPhase.FAILED && status.observedGeneration === generation) return;
    if (!reachable) {
      ready(false, "ProviderUnavailable", "the VM's provider is unavailable");
      write(ns, name, status);
      return;
    }

    if (status.taskRef) {
      const done = taskDone(conn, key, status);
      if (!done) return;
      if (done.error) return refused("Create", done.error);
    }

    if (!status.snapshotId) {
      const config = snap.spec?.snapshotConfig;
      const request = {
        vmId,
        name: config?.name || name,
        description: config?.description ?? "",
        includeMemory: config?.includeMemory ?? false,
        quiesce: config?.quiesce ?? false,
      };
      const wait = refusals.ask(key, generation, requestDigest("snapshotCreate", request), now);
      if (wait) return { requeueAfterMs: wait };
      status.phase = SnapshotPhase.CREATING;
      status.vmId = vmId;
      ready(false, "Creating");
      write(ns, name, status);
      let response;
      try {
        response = await conn.call("snapshotCreate", request);
      } catch (err) {
        return refused("Create", err);
      }
      status.snapshotId = response.snapshotId;
      status.creationTime = timestampFromMs(now);
      ctx.event(
        Kind.VM_SNAPSHOT,
        snap,
        "Normal",
        "Creating",
        `taking snapshot ${config?.name || name} of ${vmName}`,
      );
      if (response.task) {
        status.taskRef = response.task.id;
        write(ns, name, status);
        follow(conn, key, response.task.id);
        return;
      }
    }

    if (status.phase !== SnapshotPhase.READY) {
      status.phase = SnapshotPhase.READY;
      status.completionTime = timestampFromMs(now);
      ctx.event(
        Kind.VM_SNAPSHOT,
        snap,
        "Normal",
        "Created",
        `snapshot ${status.snapshotId} of ${vmName} is ready`,
      );
    }
    ready(true, "Created");
    status.message = "";
    status.observedGeneration = generation;
    refusals.forget(key);

    // Retention by age.
    const policy = snap.spec?.retentionPolicy;
    const pinned = (snap.spec?.metadata?.pinned ?? false) && (policy?.preservePinned ?? true);
    let requeue: number | undefined;
    if (policy?.maxAge && !pinned) {
      const created = msOf(status.creationTime) ?? now;
      const expiry = created + durationMs(policy.maxAge);
      status.expiryTime = timestampFromMs(expiry);
      if (now >= expiry) {
        status.phase = SnapshotPhase.EXPIRED;
        write(ns, name, status);
        ctx.event(Kind.VM_SNAPSHOT, snap, "Normal", "Expired", `older than ${policy.maxAge}`);
        store.requestDelete(Kind.VM_SNAPSHOT, ns, name);
        return;
      }
      requeue = expiry - now;
    }
    write(ns, name, status);

    // Retention by count, over the snapshots of this VM that carry a maxCount.
    if (policy?.maxCount) {
      const siblings = store
        .list(Kind.VM_SNAPSHOT, ns)
        .map((m) => m as VMSnapshot)
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
      const excess = siblings.length - policy.maxCount;
      let removed = 0;
      for (const s of siblings) {
        if (removed >= excess) break;
        const keep =
          (s.spec?.metadata?.pinned ?? false) && (s.spec?.retentionPolicy?.preservePinned ?? true);
        if (keep) continue;
        ctx.event(
          Kind.VM_SNAPSHOT,
          s,
          "Normal",
          "Retention",
          `more than ${policy.maxCount} snapshots of ${vmName}: deleting the oldest`,
        );
        store.requestDelete(Kind.VM_SNAPSHOT, ns, s.metadata?.name ?? "");
        removed++;
      }
    }
    return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
  }

  return { reconcile };
}
