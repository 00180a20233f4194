import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ErrorReason } from "@virtrigaud/contracts";
import {
  CircuitState,
  ClonePhase,
  CloneType,
  Kind,
  PowerState,
  type VMClone,
  type VMCloneStatus,
  VMCloneStatusSchema,
  type VMSnapshot,
  type VirtualMachine,
  VirtualMachinePhase,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import { vmFinalizer } from "../api/manager-service.js";
import { apiVersion } from "../manifest/kinds.js";
import { isTrue, setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import { ownerOf } from "./ownership.js";
import { providerVmName } from "./provider-names.js";
import { RefusalMemory, backoffMs, requestDigest } from "./refusals.js";
import { ownerLabels } from "./resolve-vm.js";
import { providerKeyOf } from "./references.js";
import { createTaskFollower } from "./tasks.js";
import { providerCloneType } from "./vocabulary.js";
import type { ReconcileResult } from "./work-queue.js";

/** Annotation on a VirtualMachine made by a VMClone: the clone's uid. */
export const cloneAnnotation = "virtrigaud.io/clone";

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
 */
export function createCloneController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();

  const write = (ns: string, name: string, status: VMCloneStatus) =>
    store.update<VMClone>(Kind.VM_CLONE, ns, name, (copy) => {
      copy.status = clone(VMCloneStatusSchema, status);
    });

  const tasks = createTaskFollower(ctx, "clone");
  const follow = tasks.follow;

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const vmClone = store.get(Kind.VM_CLONE, ns, name) as VMClone | undefined;
    const meta = vmClone?.metadata;
    if (!vmClone || !meta || meta.deletionTimestamp) return;
    const spec = vmClone.spec;
    const now = ctx.now();
    const generation = meta.generation;
    const status = vmClone.status
      ? clone(VMCloneStatusSchema, vmClone.status)
      : create(VMCloneStatusSchema);
    const condition = (ok: boolean, reason: string, message = "") =>
      setCondition(
        status.conditions,
        { type: "Ready", status: ok, reason, message },
        generation,
        now,
      );
    const fail = (reason: string, message: string) => {
      status.phase = ClonePhase.FAILED;
      status.message = message;
      status.observedGeneration = generation;
      condition(false, reason, message);
      ctx.event(Kind.VM_CLONE, vmClone, "Warning", reason, message);
      write(ns, name, status);
    };
    /** Shows the provider's refusal, and says when to try again. An outage is thrown. */
    const refused = (thrown: unknown): ReconcileResult | void => {
      const refusal = refusals.refuse(key, generation, thrown, now);
      if (refusal.outage) {
        condition(false, "ProviderUnavailable", refusal.message);
        write(ns, name, status);
        throw refusal.error;
      }
      if (refusal.permanent) {
        const reason = refusal.error.reason;
        return fail(
          reason === ErrorReason.UNSUPPORTED
            ? "Unsupported"
            : reason === ErrorReason.INVALID_SPEC
              ? "InvalidSpec"
              : "CloneFailed",
          refusal.message,
        );
      }
      status.phase = ClonePhase.PENDING;
      status.message = refusal.message;
      condition(false, "CloneFailed", refusal.message);
      write(ns, name, status);
      ctx.event(Kind.VM_CLONE, vmClone, "Warning", "CloneFailed", refusal.message);
      return { requeueAfterMs: refusal.retryAfterMs };
    };
    if (status.phase === ClonePhase.FAILED && status.observedGeneration === generation) return;
    const targetName = spec?.target?.name ?? "";

    // Done: the target exists; report when it is ready.
    const target = store.get(Kind.VIRTUAL_MACHINE, ns, targetName) as VirtualMachine | undefined;
    // Made once: a target deleted later is not made again.
    if (!target && status.targetRef?.name) return;
    if (target) {
      if (target.metadata?.annotations[cloneAnnotation] !== meta.uid && !status.vmId)
        return fail(
          "TargetExists",
          `VirtualMachine ${targetName} exists and was not made by this clone`,
        );
      if (target.metadata?.annotations[cloneAnnotation] === meta.uid) {
        const ok = isTrue(target.status?.conditions ?? [], "Ready");
        if (ok && status.phase !== ClonePhase.READY) {
          status.phase = ClonePhase.READY;
          status.completionTime = timestampFromMs(now);
          ctx.event(
            Kind.VM_CLONE,
            vmClone,
            "Normal",
            "Completed",
            `VirtualMachine ${targetName} is ready`,
          );
        }
        condition(ok, ok ? "Completed" : "TargetNotReady");
        status.observedGeneration = generation;
        write(ns, name, status);
        return;
      }
    }

    let sourceVm: VirtualMachine | undefined;
    let snapshotId = "";
    if (spec?.source?.snapshotRef) {
      const snap = store.get(Kind.VM_SNAPSHOT, ns, spec.source.snapshotRef.name) as
        VMSnapshot | undefined;
      if (!snap?.status?.snapshotId) {
        status.phase = ClonePhase.PENDING;
        condition(
          false,
          "SnapshotNotReady",
          `VMSnapshot ${spec.source.snapshotRef.name} is not ready`,
        );
        write(ns, name, status);
        return;
      }
      snapshotId = snap.status.snapshotId;
      sourceVm = store.get(Kind.VIRTUAL_MACHINE, ns, snap.spec?.vmRef?.name ?? "") as
        VirtualMachine | undefined;
    } else {
      sourceVm = store.get(Kind.VIRTUAL_MACHINE, ns, spec?.source?.vmRef?.name ?? "") as
        VirtualMachine | undefined;
    }
    if (!sourceVm?.status?.id) {
      status.phase = ClonePhase.PENDING;
      condition(false, "SourceNotReady", "the source VirtualMachine is not created yet");
      write(ns, name, status);
      return;
    }
    const providerKey = providerKeyOf(sourceVm);
    const targetProvider = spec?.target?.providerRef;
    if (
      targetProvider &&
      `${targetProvider.namespace || ns}/${targetProvider.name}` !== providerKey
    )
      return fail("Unsupported", `a clone stays on its source's provider ${providerKey}`);
    const conn = ctx.connections.get(providerKey);
    if (!conn || conn.circuit !== CircuitState.CLOSED) {
      condition(false, "ProviderUnavailable", `provider ${providerKey} is unavailable`);
      write(ns, name, status);
      return;
    }

    if (status.taskRef) {
      const outcome = tasks.take(conn, key, status.taskRef);
      if (!outcome) return;
      const { error } = outcome;
      status.taskRef = "";
      if (error) {
        status.vmId = "";
        return refused(error);
      }
    }

    const type =
      spec?.options?.type === CloneType.LINKED_CLONE
        ? CloneType.LINKED_CLONE
        : CloneType.FULL_CLONE;
    if (!status.vmId) {
      const request = {
        sourceVmId: sourceVm.status.id,
        name: providerVmName(ns, targetName),
        type: providerCloneType(type),
        snapshotId,
        powerOn: spec?.options?.powerOn ?? false,
      };
      const wait = refusals.ask(key, generation, requestDigest("clone", request), now);
      if (wait) return { requeueAfterMs: wait };
      status.phase = ClonePhase.CLONING;
      status.startTime = timestampFromMs(now);
      status.actualCloneType = type;
      condition(false, "Cloning");
      write(ns, name, status);
      let response;
      try {
        response = await conn.call("clone", request);
      } catch (err) {
        return refused(err);
      }
      status.vmId = response.vmId;
      ctx.event(
        Kind.VM_CLONE,
        vmClone,
        "Normal",
        "Cloning",
        `cloning ${sourceVm.metadata?.name} as ${targetName}`,
      );
      if (response.task) {
        status.taskRef = response.task.id;
        write(ns, name, status);
        follow(conn, key, response.task.id);
        return;
      }
    }

    // The clone exists at the provider. It carries its source's labels; a VM
    // of its name with another uid is another manager's, not this clone.
    let described;
    try {
      described = await conn.call("describe", { vmId: status.vmId });
    } catch (err) {
      return refused(err);
    }
    if (!described.exists || !described.vm) {
      status.vmId = "";
      write(ns, name, status);
      const attempt = refusals.fail(key, generation);
      return { requeueAfterMs: attempt === 1 ? 0 : backoffMs(attempt - 1, false) };
    }
    const owner = described.vm.labels[ownerLabels.uid] ?? "";
    if (owner && owner !== sourceVm.metadata?.uid && owner !== sourceVm.status.adoptedOwnerUid) {
      const message = `${described.vm.name} (${status.vmId}) at ${providerKey} is not a clone of ${sourceVm.metadata?.name}: it belongs to ${ownerOf(owner, undefined)}`;
      status.vmId = "";
      return fail("OwnedByAnotherManager", message);
    }

    // Declare it.
    const source = sourceVm.spec;
    const targetSpec = clone(VirtualMachineSchema, sourceVm).spec;
    if (!targetSpec || !source) return;
    targetSpec.powerState = spec?.options?.powerOn ? PowerState.ON : PowerState.OFF;
    if (spec?.target?.classRef)
      targetSpec.classRef = {
        $typeName: "virtrigaud.manager.v1.ObjectRef",
        name: spec.target.classRef.name,
        namespace: "",
      };
    if (spec?.target?.networks.length) targetSpec.networks = spec.target.networks;
    if (spec?.target?.disks.length) targetSpec.disks = spec.target.disks;
    targetSpec.snapshot = undefined;
    const made = create(VirtualMachineSchema, {
      apiVersion,
      kind: "VirtualMachine",
      metadata: {
        name: targetName,
        namespace: ns,
        labels: { ...spec?.target?.labels },
        annotations: {
          ...spec?.target?.annotations,
          [cloneAnnotation]: meta.uid,
          "virtrigaud.io/cloned-from": sourceVm.metadata?.name ?? "",
        },
      },
      spec: targetSpec,
      status: {
        id: status.vmId,
        boundProvider: sourceVm.status.boundProvider,
        providerName: providerVmName(ns, targetName),
        phase: VirtualMachinePhase.PROVISIONING,
        adoptedOwnerUid: owner,
      },
    });
    store.createOwned(Kind.VIRTUAL_MACHINE, made, [vmFinalizer]);
    status.targetRef = {
      $typeName: "virtrigaud.manager.v1.LocalObjectReference",
      name: targetName,
    };
    ctx.event(
      Kind.VM_CLONE,
      vmClone,
      "Normal",
      "Cloned",
      `VirtualMachine ${targetName} is ${status.vmId}`,
    );
    write(ns, name, status);
    refusals.forget(key);
    return { requeueAfterMs: 0 };
  }

  return { reconcile };
}
