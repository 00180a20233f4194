import { clone, create } from "@bufbuild/protobuf";
import { ErrorReason } from "@virtrigaud/contracts";
import {
  ClonePhase,
  Kind,
  type VMClone,
  type VMCloneStatus,
  VMCloneStatusSchema,
  type VMSnapshot,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { vmFinalizer } from "../api/manager-service.js";
import { type CloneEvent, type CloneFacts, planClone } from "./clone-plan.js";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { findNotShared } from "./namespace-sharing.js";
import { providerKeyOf } from "./references.js";
import { RefusalMemory, backoffMs } from "./refusals.js";
import { createTaskFollower } from "./tasks.js";
import type { ReconcileResult } from "./work-queue.js";

/**
 * The VMClone controller: clones the source VM (or the VM of a snapshot)
 * on its provider, then creates the target VirtualMachine bound to the new
 * VM. Clone is idempotent by name, so a crash between the two steps clones
 * once; the target's own controller then keeps it as declared.
 *
 * The clone carries its source's labels, so the target records the source's
 * uid as one it may manage (status.adoptedOwnerUid); a VM of the clone's
 * name that carries any other uid is another manager's, and is left alone.
 * Every refusal of the provider reaches the clone as a Warning event and a
 * Ready=False condition; one that would be refused again fails the clone
 * until its spec changes, others are tried again after a backoff.
 *
 * What to do is decided in `clone-plan.ts`; this file carries it out.
 */
export function createCloneController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();
  const tasks = createTaskFollower(ctx, "clone");

  const write = (ns: string, name: string, status: VMCloneStatus) =>
    store.update<VMClone>(Kind.VM_CLONE, ns, name, (copy) => {
      copy.status = clone(VMCloneStatusSchema, status);
    });

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const vmClone = store.get(Kind.VM_CLONE, ns, name) as VMClone | undefined;
    const meta = vmClone?.metadata;
    if (!vmClone || !meta || meta.deletionTimestamp) return;
    const spec = vmClone.spec;
    const now = ctx.now();
    const generation = meta.generation;
    let status = vmClone.status
      ? clone(VMCloneStatusSchema, vmClone.status)
      : create(VMCloneStatusSchema);
    const vm = (vmName: string) =>
      store.get(Kind.VIRTUAL_MACHINE, ns, vmName) as VirtualMachine | undefined;
    const snapshotRef = spec?.source?.snapshotRef;
    const snapshot = snapshotRef
      ? (store.get(Kind.VM_SNAPSHOT, ns, snapshotRef.name) as VMSnapshot | undefined)
      : undefined;
    const sourceVm = snapshotRef
      ? vm(snapshot?.spec?.vmRef?.name ?? "")
      : vm(spec?.source?.vmRef?.name ?? "");
    const conn = sourceVm ? ctx.connections.get(providerKeyOf(sourceVm)) : undefined;
    const taskId = status.taskRef;
    const facts: CloneFacts = {
      vmClone,
      status,
      now,
      target: vm(spec?.target?.name ?? ""),
      snapshot,
      sourceVm,
      // As it was when the reconcile began: the plan is made again after Describe.
      connection: conn && { circuit: conn.circuit },
      notShared: sourceVm
        ? findNotShared(sourceVm, (k, n, name) => store.get(k, n, name))
        : undefined,
      task: taskId ? tasks.peek(taskId) : undefined,
      described: undefined,
    };
    const record = (e: CloneEvent) =>
      ctx.event(Kind.VM_CLONE, vmClone, e.type, e.reason, e.message);
    const fail = async (event: CloneEvent) => {
      record(event);
      await write(ns, name, status);
    };
    /** Shows the provider's refusal, and says when to try again. An outage is thrown. */
    const refused = async (thrown: unknown): Promise<ReconcileResult | void> => {
      const refusal = refusals.refuse(key, generation, thrown, now);
      const condition = (reason: string) =>
        setCondition(
          status.conditions,
          { type: "Ready", status: false, reason, message: refusal.message },
          generation,
          now,
        );
      if (refusal.outage) {
        condition("ProviderUnavailable");
        await write(ns, name, status);
        throw refusal.error;
      }
      if (refusal.permanent) {
        const why = refusal.error.reason;
        const reason =
          why === ErrorReason.UNSUPPORTED
            ? "Unsupported"
            : why === ErrorReason.INVALID_SPEC
              ? "InvalidSpec"
              : "CloneFailed";
        status.phase = ClonePhase.FAILED;
        status.message = refusal.message;
        status.observedGeneration = generation;
        condition(reason);
        return fail({ type: "Warning", reason, message: refusal.message });
      }
      status.phase = ClonePhase.PENDING;
      status.message = refusal.message;
      condition("CloneFailed");
      await write(ns, name, status);
      record({
        type: "Warning",
        reason: "CloneFailed",
        message: refusal.message,
      });
      return { requeueAfterMs: refusal.retryAfterMs };
    };

    // Plan, act, and plan again with what the provider says of the clone.
    for (;;) {
      const plan = planClone(facts);
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
        case "fail":
          return fail(step.event);
        case "followTask":
          if (conn) tasks.follow(conn, key, step.taskId);
          return;
        case "taskFailed":
          return refused(step.error);
        case "vanished": {
          await write(ns, name, status);
          const attempt = refusals.fail(key, generation);
          return {
            requeueAfterMs: attempt === 1 ? 0 : backoffMs(attempt - 1, false),
          };
        }
        case "declare":
          await store.createOwned(Kind.VIRTUAL_MACHINE, step.target, [vmFinalizer]);
          record(step.event);
          await write(ns, name, status);
          refusals.forget(key);
          return { requeueAfterMs: 0 };
        case "clone":
        case "describe": {
          if (!conn) return;
          if (step.kind === "clone") {
            const wait = refusals.ask(key, generation, "clone", step.request, now);
            if (wait) return { requeueAfterMs: wait };
            await write(ns, name, status);
            let response;
            try {
              response = await conn.client.clone(step.request);
            } catch (err) {
              return refused(err);
            }
            status.vmId = response.vmId;
            record(step.event);
            if (response.task) {
              status.taskRef = response.task.id;
              await write(ns, name, status);
              tasks.follow(conn, key, response.task.id);
              return;
            }
          }
          let described;
          try {
            described = await conn.client.describe({ vmId: status.vmId });
          } catch (err) {
            return refused(err);
          }
          facts.described = described.exists && described.vm ? described.vm : null;
          continue;
        }
      }
    }
  }

  return { reconcile };
}
