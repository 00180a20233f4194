import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  CircuitState,
  Kind,
  PowerState,
  type Provider as ProviderResource,
  RequestedResourcesSchema,
  type Secret,
  type VMClass,
  type VMSnapshot,
  type VirtualMachine,
  VirtualMachinePhase,
  type VirtualMachineStatus,
  VirtualMachineStatusSchema,
} from "@virtrigaud/proto/manager";
import { ProviderError } from "@virtrigaud/contracts";
import { vmFinalizer } from "../api/manager-service.js";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { findNotShared } from "./namespace-sharing.js";
import { judgeOwnership } from "./ownership.js";
import type { ProviderConnection } from "./provider-connection.js";
import { providerKeyOf, vmReference } from "./references.js";
import { RefusalMemory, backoffMs } from "./refusals.js";
import type { ReadSecret } from "./cloud-init-sources.js";
import { resolveCreate } from "./resolve-vm.js";
import { createTaskFollower } from "./tasks.js";
import {
  type VmEvent,
  type VmFacts,
  foreignRecheckMs,
  planDeleteFound,
  planReconfigured,
  planVm,
  planVmDelete,
} from "./vm-plan.js";
import type { ReconcileResult } from "./work-queue.js";

/**
 * The VirtualMachine controller: makes the VM at its provider (intent
 * recorded first; Create is idempotent by name, so a crash never makes two),
 * adopts a VM of the same name that is already there, follows tasks,
 * reports what Describe says, reverts to a snapshot once per request,
 * reconfigures CPU, memory and disks, corrects power drift (OffGraceful is
 * asked once per generation), and deletes the VM before letting the
 * resource go.
 *
 * A VM at the provider that carries another resource's uid (another
 * manager's, most likely) is never adopted, changed or deleted, unless the
 * resource's annotation virtrigaud.io/adopt-owner-uid names that uid.
 * Every refusal of the provider reaches the resource as a Warning event and
 * a Ready=False condition with the provider's message; one that would be
 * refused again waits for a spec change or a long backoff.
 *
 * What to do is decided in `vm-plan.ts`; this file gathers the facts the
 * plan needs and carries its steps out.
 */
export function createVmController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();
  const tasks = createTaskFollower(ctx, "vm");

  /**
   * Stores `status` as it is (no copy: a status is some 50 us to clone):
   * the reconcile must not change it afterwards, and every write but
   * Create's intent ends the reconcile or precedes a new plan, which makes
   * its own copy.
   */
  const write = (ns: string, name: string, status: VirtualMachineStatus) =>
    store.updateStatus<VirtualMachine>(Kind.VIRTUAL_MACHINE, ns, name, status);

  /** Reads a Secret of a namespace for a VM's cloud-init: its values only while Create is made. */
  const readSecret =
    (ns: string): ReadSecret =>
    (name) => {
      const stored = store.get(Kind.SECRET, ns, name) as Secret | undefined;
      if (!stored || stored.metadata?.deletionTimestamp) return undefined;
      try {
        return ctx.secrets.valuesOf(stored);
      } catch (err) {
        return ProviderError.from(err);
      }
    };

  /** Reconciles the VM `key` once its provider's connection admits it (see `admitReconcile`). */
  function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const vm = store.get(Kind.VIRTUAL_MACHINE, ns, name) as VirtualMachine | undefined;
    const conn = vm && ctx.connections.get(providerKeyOf(vm));
    return conn ? conn.admitReconcile(() => reconcileAdmitted(key)) : reconcileAdmitted(key);
  }

  async function reconcileAdmitted(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const vm = store.get(Kind.VIRTUAL_MACHINE, ns, name) as VirtualMachine | undefined;
    if (!vm) return;
    const meta = vm.metadata;
    if (!meta) return;
    const generation = meta.generation;
    const now = ctx.now();
    // The stored status, only read until the plan, which works on its own copy.
    let status = vm.status ?? create(VirtualMachineStatusSchema);
    const providerKey = providerKeyOf(vm);
    const conn = ctx.connections.get(providerKey);
    const record = (e: VmEvent) => ctx.event(Kind.VIRTUAL_MACHINE, vm, e.type, e.reason, e.message);

    if (meta.deletionTimestamp) return reconcileDelete(vm, status, conn, key);

    const provider = store.get(Kind.PROVIDER, ...splitKeyArgs(providerKey)) as
      ProviderResource | undefined;
    const classRef = vmReference(vm, Kind.VM_CLASS);
    const revertTo = vm.spec?.snapshot?.revertToRef?.name;
    const taskId = status.lastTaskRef;
    const facts: VmFacts = {
      vm,
      status,
      now,
      providerKey,
      provider,
      // As it was when the reconcile began: the plan is made again after Create and Describe.
      connection: conn && { circuit: conn.circuit, lastError: conn.lastError },
      task: taskId ? tasks.peek(taskId) : undefined,
      create:
        !status.id && provider
          ? resolveCreate(store, vm, provider, readSecret(ns))
          : { unresolved: { reason: "ClassNotFound", message: "" } },
      vmClass: undefined,
      snapshot: undefined,
      described: undefined,
      claimantOf: resourceOfUid,
      boundElsewhere: (vmId) => findClaimant(meta.uid, vmId, providerKey),
      notShared: findNotShared(vm, (k, ns, n) => store.get(k, ns, n)),
    };

    /**
     * Shows the provider's refusal of `verb` on the resource (a Warning event
     * `<verb>Failed`, Ready=False with the provider's message and field),
     * and says when to try again. An outage is thrown: the queue backs off.
     */
    const refused = async (verb: string, thrown: unknown): Promise<ReconcileResult> => {
      const refusal = refusals.refuse(key, generation, thrown, now);
      const ready = (reason: string) =>
        setCondition(
          status.conditions,
          { type: "Ready", status: false, reason, message: refusal.message },
          generation,
          now,
        );
      if (refusal.outage) {
        ready("ProviderUnavailable");
        await write(ns, name, status);
        throw refusal.error;
      }
      if (!status.id)
        status.phase = refusal.permanent ? VirtualMachinePhase.FAILED : VirtualMachinePhase.PENDING;
      else
        status.phase =
          status.powerState === PowerState.ON
            ? VirtualMachinePhase.RUNNING
            : VirtualMachinePhase.STOPPED;
      ready(`${verb}Failed`);
      status.message = refusal.message;
      await write(ns, name, status);
      ctx.event(Kind.VIRTUAL_MACHINE, vm, "Warning", `${verb}Failed`, refusal.message);
      ctx.logger.debug({ key, verb, err: refusal.error }, "the provider refused");
      return { requeueAfterMs: refusal.retryAfterMs };
    };
    /**
     * How long the request must still wait: non-zero while a refusal of the
     * very same request holds (whatever woke the resource meanwhile).
     */
    const held = (method: string, request: unknown): number =>
      refusals.ask(key, generation, method, request, now);
    /** After an action: follow its task, or look again at once. */
    const afterAction = async (
      connection: ProviderConnection,
      task: string | undefined,
      op: string,
    ): Promise<ReconcileResult | void> => {
      if (task) {
        status.lastTaskRef = task;
        status.lastTaskOperation = op;
        await write(ns, name, status);
        tasks.follow(connection, key, task);
        return;
      }
      await write(ns, name, status);
      return { requeueAfterMs: 0 };
    };

    // Plan, act, and plan again while a step needs the provider's answer
    // (Create without a task, then Describe).
    for (;;) {
      // The class and the revert snapshot as they are now (after any Describe).
      facts.vmClass = classRef
        ? (store.get(Kind.VM_CLASS, classRef.namespace, classRef.name) as VMClass | undefined)
        : undefined;
      facts.snapshot = revertTo
        ? (store.get(Kind.VM_SNAPSHOT, ns, revertTo) as VMSnapshot | undefined)
        : undefined;
      const plan = planVm(facts);
      status = plan.status;
      // A task's outcome the plan acted on is forgotten.
      if (taskId && facts.task && status.lastTaskRef !== taskId) tasks.forget(taskId);
      // Plans made again work on this copy in place: every write below that
      // is followed by another plan stores a copy of it (Create's intent).
      facts.status = status;
      facts.ownStatus = true;
      facts.task = undefined;
      const { step } = plan;
      plan.events.forEach(record);
      if (step.kind === "delete") return reconcileDelete(vm, status, conn, key);
      if (step.kind === "wait") {
        await write(ns, name, status);
        return;
      }
      if (step.kind === "followTask") {
        if (conn) tasks.follow(conn, key, step.taskId);
        return;
      }
      if (step.kind === "taskFailed") return refused(step.verb, step.error);
      // Every other step has a usable connection (the plan checked it).
      if (!conn) return;
      if (step.kind === "create" || step.kind === "describe") {
        if (step.kind === "create") {
          const wait = held("create", step.request);
          if (wait) return { requeueAfterMs: wait };
          // The intent, as a copy: the reconcile goes on with its own.
          await write(ns, name, clone(VirtualMachineStatusSchema, status));
          let response;
          try {
            response = await conn.client.create(step.request);
          } catch (err) {
            return refused("Create", err);
          }
          status.id = response.vmId;
          ctx.event(
            Kind.VIRTUAL_MACHINE,
            vm,
            "Normal",
            "Creating",
            `creating ${status.providerName} on ${providerKey} as ${response.vmId}`,
          );
          if (response.task) {
            status.lastTaskRef = response.task.id;
            status.lastTaskOperation = "create";
            // A task that has already ended (a small VM's, often) is acted on
            // here: no status written only to be replaced, no second reconcile.
            facts.task = await tasks.look(conn, response.task.id);
            if (facts.task) continue;
            await write(ns, name, status);
            tasks.follow(conn, key, response.task.id, { looked: true });
            return;
          }
        }
        // Describe (after a Create without a task, at once), and plan again with the answer.
        let described;
        try {
          described = await conn.client.describe({ vmId: status.id });
        } catch (err) {
          return refused("Describe", err);
        }
        facts.described = described.exists && described.vm ? described.vm : null;
        continue;
      }
      switch (step.kind) {
        case "missing": {
          await write(ns, name, status);
          // At once the first time; a VM that vanishes again and again (a Create
          // that does not stick) backs off.
          const attempt = refusals.fail(key, generation);
          return { requeueAfterMs: attempt === 1 ? 0 : backoffMs(attempt - 1, false) };
        }
        case "foreign":
        case "lostAtMovedProvider":
          await write(ns, name, status);
          record(step.event);
          return { requeueAfterMs: foreignRecheckMs };
        case "nameConflict":
          await write(ns, name, status);
          record(step.event);
          return;
        case "revert": {
          const wait = held("snapshotRevert", step.request);
          if (wait) return { requeueAfterMs: wait };
          let response;
          try {
            response = await conn.client.snapshotRevert(step.request);
          } catch (err) {
            return refused("Revert", err);
          }
          status.revertedTo = step.snapshot;
          status.revertedGeneration = generation;
          record(step.event);
          return afterAction(conn, response.task?.id, "revert");
        }
        case "reconfigure": {
          const wait = held("reconfigure", step.request);
          if (wait) return { requeueAfterMs: wait };
          let response;
          try {
            response = await conn.client.reconfigure(step.request);
          } catch (err) {
            return refused("Reconfigure", err);
          }
          status.requestedResources = create(RequestedResourcesSchema, {
            cpu: step.requested.cpu,
            memoryMib: step.requested.memoryMib,
            disks: step.requested.disks,
          });
          status.lastReconfigureTime = timestampFromMs(now);
          record(step.event);
          planReconfigured(status, response.powerCycleRequired, generation, now).forEach(record);
          return afterAction(conn, response.task?.id, "reconfigure");
        }
        case "reboot": {
          const wait = held("reboot", step.request);
          if (wait) return { requeueAfterMs: wait };
          let response;
          try {
            response = await conn.client.power(step.request);
          } catch (err) {
            status.rebootRequest = "";
            return refused("Reboot", err);
          }
          record(step.event);
          return afterAction(conn, response.task?.id, "reboot");
        }
        case "power": {
          const wait = held("power", step.request);
          if (wait) return { requeueAfterMs: wait };
          let response;
          try {
            response = await conn.client.power(step.request);
          } catch (err) {
            return refused("Power", err);
          }
          if (step.graceful) status.gracefulShutdownGeneration = generation;
          record(step.event);
          return afterAction(conn, response.task?.id, "power");
        }
        case "settle":
          await write(ns, name, status);
          refusals.forget(key);
          return step.recheckAfterMs !== undefined
            ? { requeueAfterMs: step.recheckAfterMs }
            : undefined;
      }
    }
  }

  /** The VirtualMachine ("namespace/name") of a uid, if this manager has it. */
  function resourceOfUid(uid: string): string | undefined {
    for (const m of store.list(Kind.VIRTUAL_MACHINE)) {
      if (m.metadata?.uid === uid) return `${m.metadata.namespace}/${m.metadata.name}`;
    }
    return undefined;
  }

  /** Another live VirtualMachine bound to the same provider VM, if any. */
  function findClaimant(uid: string, vmId: string, providerKey: string): string | undefined {
    for (const m of store.list(Kind.VIRTUAL_MACHINE)) {
      const other = m as VirtualMachine;
      if (other.metadata?.uid === uid || other.metadata?.deletionTimestamp) continue;
      if (other.status?.id === vmId && providerKeyOf(other) === providerKey)
        return `${other.metadata?.namespace}/${other.metadata?.name}`;
    }
    return undefined;
  }

  async function reconcileDelete(
    vm: VirtualMachine,
    current: VirtualMachineStatus,
    conn: ProviderConnection | undefined,
    key: string,
  ): Promise<ReconcileResult | void> {
    const meta = vm.metadata;
    if (!meta) return;
    const ns = meta.namespace || "default";
    const name = meta.name;
    const now = ctx.now();
    const providerKey = providerKeyOf(vm);
    const reachable = conn !== undefined && conn.circuit === CircuitState.CLOSED;
    const taskId = current.lastTaskRef;
    const task = taskId ? tasks.peek(taskId) : undefined;
    const plan = planVmDelete({ vm, status: current, now, providerKey, reachable, task });
    const { status, step } = plan;
    if (taskId && task && status.lastTaskRef !== taskId) tasks.forget(taskId);
    const record = (e: VmEvent) => ctx.event(Kind.VIRTUAL_MACHINE, vm, e.type, e.reason, e.message);
    const release = async (e: VmEvent) => {
      record(e);
      refusals.forget(key);
      await store.update<VirtualMachine>(Kind.VIRTUAL_MACHINE, ns, name, (copy) => {
        if (copy.metadata)
          copy.metadata.finalizers = copy.metadata.finalizers.filter((f) => f !== vmFinalizer);
      });
    };
    /** Shows a refusal of the delete, and says when to try again. */
    const refused = async (thrown: unknown): Promise<ReconcileResult> => {
      const refusal = refusals.refuse(key, meta.generation, thrown, now);
      const ready = (reason: string) =>
        setCondition(
          status.conditions,
          { type: "Ready", status: false, reason, message: refusal.message },
          meta.generation,
          now,
        );
      if (refusal.outage) {
        ready("DeleteBlocked");
        await write(ns, name, status);
        throw refusal.error;
      }
      ready("DeleteFailed");
      status.message = refusal.message;
      await write(ns, name, status);
      ctx.event(Kind.VIRTUAL_MACHINE, vm, "Warning", "DeleteFailed", refusal.message);
      return { requeueAfterMs: refusal.retryAfterMs };
    };

    if (step.kind === "forceRelease") {
      if (conn && step.deleteVmId) void deleteIfOwn(conn, vm, step.deleteVmId);
      await release(step.event);
      return;
    }
    plan.events.forEach(record);
    switch (step.kind) {
      case "none":
        return;
      case "release":
        await release(step.event);
        return;
      case "wait":
        await write(ns, name, status);
        return;
      case "followTask":
        await write(ns, name, status);
        if (conn) tasks.follow(conn, key, step.taskId);
        return;
      case "taskFailed":
        return refused(step.error);
      case "find":
        break;
    }
    if (!conn) return;
    let found;
    try {
      let id = status.id;
      if (!id) {
        // Created, perhaps, just before a crash: find it by name.
        const page = await conn.client.listVMs({ namePrefix: status.providerName, pageSize: 10 });
        id = page.vms.find((v) => v.name === status.providerName)?.id ?? "";
      }
      const described = id ? await conn.client.describe({ vmId: id }) : undefined;
      found = planDeleteFound(vm, status, providerKey, id, described, resourceOfUid);
      if (found.kind === "delete") {
        const response = await conn.client.delete({ vmId: found.vmId });
        status.id = found.vmId;
        if (response.task) {
          status.lastTaskRef = response.task.id;
          status.lastTaskOperation = "delete";
          await write(ns, name, status);
          tasks.follow(conn, key, response.task.id);
          return;
        }
        await write(ns, name, status);
        return { requeueAfterMs: 0 };
      }
    } catch (err) {
      return refused(err);
    }
    await release(found.event);
  }

  /** Deletes a VM, unless it carries another resource's uid; errors are dropped (best effort). */
  async function deleteIfOwn(
    conn: ProviderConnection,
    vm: VirtualMachine,
    vmId: string,
  ): Promise<void> {
    try {
      const described = await conn.client.describe({ vmId });
      if (!described.exists || judgeOwnership(vm, described.vm?.labels ?? {}).verdict === "foreign")
        return;
      await conn.client.delete({ vmId });
    } catch {
      // The resource is gone already; the VM may remain, as the event says.
    }
  }

  return { reconcile };
}

function splitKeyArgs(key: string): [string, string] {
  const { namespace, name } = splitKey(key);
  return [namespace, name];
}
