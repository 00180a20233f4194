import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
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
import { type ControllerContext, splitKey, takeTaskOutcome } from "./context.js";
import type { ProviderConnection } from "./provider-connection.js";
import { providerKeyOf } from "./vm-controller.js";
import type { ReconcileResult } from "./work-queue.js";

/**
 * The VMSnapshot controller: takes the snapshot on the VM's provider,
 * deletes it there before the resource goes, deletes snapshots whose VM was
 * deleted (unless deleteOnVMDelete is false), and applies retention: a
 * snapshot older than maxAge expires, and of the snapshots of one VM that
 * carry a maxCount only the newest maxCount are kept (pinned ones are kept
 * unless preservePinned is false).
 */
export function createSnapshotController(ctx: ControllerContext) {
  const { store } = ctx;

  const write = (ns: string, name: string, status: VMSnapshotStatus) =>
    store.update<VMSnapshot>(Kind.VM_SNAPSHOT, ns, name, (copy) => {
      copy.status = clone(VMSnapshotStatusSchema, status);
    });

  const follow = (conn: ProviderConnection, key: string, taskId: string) =>
    conn.followTask(taskId, (error) => {
      ctx.taskOutcomes.set(taskId, error);
      ctx.queues.snapshot.add(key);
    });

  /** Reads a finished task's outcome; undefined while it runs (then it is followed). */
  const taskDone = (conn: ProviderConnection, key: string, status: VMSnapshotStatus) => {
    const outcome = takeTaskOutcome(ctx, status.taskRef);
    if (!outcome) {
      follow(conn, key, status.taskRef);
      return undefined;
    }
    status.taskRef = "";
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
          if (done.error) {
            write(ns, name, status);
            throw done.error;
          }
        } else {
          status.phase = SnapshotPhase.DELETING;
          const response = await conn.call("snapshotDelete", {
            vmId,
            snapshotId: status.snapshotId,
          });
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
      if (done.error) {
        status.phase = SnapshotPhase.FAILED;
        status.snapshotId = "";
        status.message = ProviderError.from(done.error).rawMessage;
        ready(false, "ProviderError", status.message);
        ctx.event(Kind.VM_SNAPSHOT, snap, "Warning", "CreateFailed", status.message);
        write(ns, name, status);
        throw done.error;
      }
    }

    if (!status.snapshotId) {
      const config = snap.spec?.snapshotConfig;
      status.phase = SnapshotPhase.CREATING;
      status.vmId = vmId;
      ready(false, "Creating");
      write(ns, name, status);
      let response;
      try {
        response = await conn.call("snapshotCreate", {
          vmId,
          name: config?.name || name,
          description: config?.description ?? "",
          includeMemory: config?.includeMemory ?? false,
          quiesce: config?.quiesce ?? false,
        });
      } catch (err) {
        const error = ProviderError.from(err);
        if (error.reason === ErrorReason.UNSUPPORTED || error.reason === ErrorReason.INVALID_SPEC) {
          status.phase = SnapshotPhase.FAILED;
          status.message = error.rawMessage;
          status.observedGeneration = generation;
          ready(
            false,
            error.reason === ErrorReason.UNSUPPORTED ? "Unsupported" : "InvalidSpec",
            error.rawMessage,
          );
          ctx.event(Kind.VM_SNAPSHOT, snap, "Warning", "CreateFailed", error.rawMessage);
          write(ns, name, status);
          return;
        }
        throw error;
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
