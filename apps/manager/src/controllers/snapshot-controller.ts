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
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { RefusalMemory } from "./refusals.js";
import { findNotShared } from "./namespace-sharing.js";
import { providerKeyOf } from "./references.js";
import {
  type SnapshotEvent,
  type SnapshotFacts,
  planRetention,
  planSnapshot,
} from "./snapshot-plan.js";
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
 *
 * What to do is decided in `snapshot-plan.ts`; this file carries it out.
 */
export function createSnapshotController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();
  const tasks = createTaskFollower(ctx, "snapshot");

  const write = (ns: string, name: string, status: VMSnapshotStatus) =>
    store.update<VMSnapshot>(Kind.VM_SNAPSHOT, ns, name, (copy) => {
      copy.status = clone(VMSnapshotStatusSchema, status);
    });

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const snap = store.get(Kind.VM_SNAPSHOT, ns, name) as VMSnapshot | undefined;
    const meta = snap?.metadata;
    if (!snap || !meta) return;
    const now = ctx.now();
    const generation = meta.generation;
    let status = snap.status
      ? clone(VMSnapshotStatusSchema, snap.status)
      : create(VMSnapshotStatusSchema);
    const vmName = snap.spec?.vmRef?.name ?? "";
    const vm = store.get(Kind.VIRTUAL_MACHINE, ns, vmName) as VirtualMachine | undefined;
    const conn = vm ? ctx.connections.get(providerKeyOf(vm)) : undefined;
    const taskId = status.taskRef;
    const facts: SnapshotFacts = {
      snap,
      status,
      now,
      vm,
      reachable: conn !== undefined && conn.circuit === CircuitState.CLOSED,
      notShared: vm ? findNotShared(vm, (k, n, name) => store.get(k, n, name)) : undefined,
      task: taskId ? tasks.peek(taskId) : undefined,
      taken: false,
    };
    const record = (e: SnapshotEvent, about: VMSnapshot = snap) =>
      ctx.event(Kind.VM_SNAPSHOT, about, e.type, e.reason, e.message);
    /**
     * Shows the provider's refusal to take (`Create`) or delete the
     * snapshot, and says when to try again. An outage is thrown: the queue
     * backs off.
     */
    const refused = async (
      verb: "Create" | "Delete",
      thrown: unknown,
    ): Promise<ReconcileResult | void> => {
      const refusal = refusals.refuse(key, generation, thrown, now);
      const ready = (reason: string) =>
        setCondition(
          status.conditions,
          { type: "Ready", status: false, reason, message: refusal.message },
          generation,
          now,
        );
      status.message = refusal.message;
      if (refusal.outage) {
        ready("ProviderUnavailable");
        await write(ns, name, status);
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
      ready(reason);
      await write(ns, name, status);
      ctx.event(Kind.VM_SNAPSHOT, snap, "Warning", `${verb}Failed`, refusal.message);
      if (verb === "Create" && refusal.permanent) return;
      return { requeueAfterMs: refusal.retryAfterMs };
    };
    const release = async (e: SnapshotEvent) => {
      record(e);
      refusals.forget(key);
      await store.update<VMSnapshot>(Kind.VM_SNAPSHOT, ns, name, (copy) => {
        if (copy.metadata)
          copy.metadata.finalizers = copy.metadata.finalizers.filter(
            (f) => f !== snapshotFinalizer,
          );
      });
    };

    // Plan, act, and plan again after a step that needs no task (a delete or a take).
    for (;;) {
      const plan = planSnapshot(facts);
      status = plan.status;
      if (taskId && facts.task && status.taskRef !== taskId) tasks.forget(taskId);
      facts.status = status;
      facts.task = undefined;
      const { step } = plan;
      plan.events.forEach((e) => record(e));
      switch (step.kind) {
        case "none":
          return;
        case "wait":
          await write(ns, name, status);
          return;
        case "followTask":
          if (conn) tasks.follow(conn, key, step.taskId);
          return;
        case "taskFailed":
          return refused(step.verb, step.error);
        case "release":
          await release(step.event);
          return;
        case "vmDeleted":
          record(step.event);
          await store.requestDelete(Kind.VM_SNAPSHOT, ns, name);
          return;
        case "expire":
          refusals.forget(key);
          await write(ns, name, status);
          record(step.event);
          await store.requestDelete(Kind.VM_SNAPSHOT, ns, name);
          return;
        case "deleteAtProvider": {
          if (!conn) return;
          const wait = refusals.ask(key, generation, "snapshotDelete", step.request, now);
          if (wait) return { requeueAfterMs: wait };
          let response;
          try {
            response = await conn.client.snapshotDelete(step.request);
          } catch (err) {
            return refused("Delete", err);
          }
          record({
            type: "Normal",
            reason: "Deleting",
            message: `deleting snapshot ${status.snapshotId} of ${vmName}`,
          });
          if (response.task) {
            status.taskRef = response.task.id;
            await write(ns, name, status);
            tasks.follow(conn, key, response.task.id);
            return;
          }
          await release({
            type: "Normal",
            reason: "Deleted",
            message: `snapshot of ${vmName} deleted`,
          });
          return;
        }
        case "create": {
          if (!conn) return;
          const wait = refusals.ask(key, generation, "snapshotCreate", step.request, now);
          if (wait) return { requeueAfterMs: wait };
          await write(ns, name, status);
          let response;
          try {
            response = await conn.client.snapshotCreate(step.request);
          } catch (err) {
            return refused("Create", err);
          }
          status.snapshotId = response.snapshotId;
          status.creationTime = timestampFromMs(now);
          record({
            type: "Normal",
            reason: "Creating",
            message: `taking snapshot ${step.request.name} of ${vmName}`,
          });
          if (response.task) {
            status.taskRef = response.task.id;
            await write(ns, name, status);
            tasks.follow(conn, key, response.task.id);
            return;
          }
          facts.taken = true;
          continue;
        }
        case "ready": {
          refusals.forget(key);
          await write(ns, name, status);
          // Retention by count, over the snapshots of this VM that carry a maxCount.
          const maxCount = snap.spec?.retentionPolicy?.maxCount;
          if (maxCount)
            for (const { snapshot, event } of planRetention(
              store.list(Kind.VM_SNAPSHOT, ns) as VMSnapshot[],
              vmName,
              maxCount,
            )) {
              record(event, snapshot);
              await store.requestDelete(Kind.VM_SNAPSHOT, ns, snapshot.metadata?.name ?? "");
            }
          return step.requeueAfterMs !== undefined
            ? { requeueAfterMs: step.requeueAfterMs }
            : undefined;
        }
      }
    }
  }

  return { reconcile };
}
