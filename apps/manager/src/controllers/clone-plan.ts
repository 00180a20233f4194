/**
 * The VMClone controller's decisions, apart from its effects: pure
 * functions of the clone, its source and target, its status and what the
 * provider reports, each returning the next step. `clone-controller.ts`
 * carries them out.
 */
import { type MessageInitShape, clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { CloneRequestSchema, VirtualMachine as ProviderVm } from "@virtrigaud/contracts";
import {
  CircuitState,
  ClonePhase,
  CloneType,
  LocalObjectReferenceSchema,
  ObjectRefSchema,
  PowerState,
  type VMClone,
  type VMCloneStatus,
  VMCloneStatusSchema,
  type VMSnapshot,
  type VirtualMachine,
  VirtualMachinePhase,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import { apiVersion } from "../manifest/kinds.js";
import type { NotShared } from "./namespace-sharing.js";
import { isTrue, setCondition } from "./conditions.js";
import { ownerOf } from "./ownership.js";
import { providerVmName } from "./provider-names.js";
import { providerKeyOf } from "./references.js";
import { ownerLabels } from "./resolve-vm.js";
import type { TaskOutcome } from "./tasks.js";
import { providerCloneType } from "./vocabulary.js";

/** Annotation on a VirtualMachine made by a VMClone: the clone's uid. */
export const cloneAnnotation = "virtrigaud.io/clone";

/** An event to record about a VMClone. */
export interface CloneEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** What the plan needs to know. */
export interface CloneFacts {
  vmClone: VMClone;
  /** The status as it stands (never changed by the plan). */
  status: VMCloneStatus;
  now: number;
  /** The VirtualMachine spec.target names, if it exists. */
  target: VirtualMachine | undefined;
  /** The VMSnapshot spec.source.snapshotRef names, if any and it exists. */
  snapshot: VMSnapshot | undefined;
  /** The source VirtualMachine (spec.source.vmRef's, or the snapshot's VM), if it exists. */
  sourceVm: VirtualMachine | undefined;
  /** The connection to the source's provider, if there is one. */
  connection: { circuit: CircuitState } | undefined;
  /** A reference of the source VM's spec into a namespace that does not share it: nothing is cloned. */
  notShared: NotShared | undefined;
  /** How the task in status.taskRef ended; undefined while it runs (or when there is none). */
  task: TaskOutcome | undefined;
  /** What Describe said of status.vmId: undefined before it was asked, null when gone. */
  described: ProviderVm | null | undefined;
}

/** What the VMClone controller does next. */
type CloneStep =
  /** Nothing to do. */
  | { kind: "none" }
  /** Write the status and wait to be woken. */
  | { kind: "wait" }
  /** Failed until the spec changes: record `event`, then write the status. */
  | { kind: "fail"; event: CloneEvent }
  /** The task in status.taskRef still runs: follow it, write nothing. */
  | { kind: "followTask"; taskId: string }
  /** The clone task failed: show the refusal. */
  | { kind: "taskFailed"; error: Error }
  /** Write the status (the intent), then Clone; describe after, unless a task follows. */
  | { kind: "clone"; request: MessageInitShape<typeof CloneRequestSchema>; event: CloneEvent }
  /** Ask the provider what it has of status.vmId, and plan again with the answer. */
  | { kind: "describe" }
  /** The clone is gone from the provider: write, and clone again (at once the first time). */
  | { kind: "vanished" }
  /** Declare the target VirtualMachine, bound to the clone; then look again at once. */
  | { kind: "declare"; target: VirtualMachine; event: CloneEvent };

/** The plan: the status to carry on with, events to record first, and the step. */
export interface ClonePlan {
  status: VMCloneStatus;
  events: CloneEvent[];
  step: CloneStep;
}

/** The next step for a VMClone: a pure function of `facts`. */
export function planClone(facts: CloneFacts): ClonePlan {
  const { vmClone, now, target, sourceVm } = facts;
  const meta = vmClone.metadata;
  const spec = vmClone.spec;
  const generation = meta?.generation ?? 0n;
  const ns = meta?.namespace || "default";
  const status = clone(VMCloneStatusSchema, facts.status);
  const events: CloneEvent[] = [];
  const plan = (step: CloneStep): ClonePlan => ({ status, events, step });
  const condition = (ok: boolean, reason: string, message = "") =>
    setCondition(
      status.conditions,
      { type: "Ready", status: ok, reason, message },
      generation,
      now,
    );
  const fail = (reason: string, message: string): ClonePlan => {
    status.phase = ClonePhase.FAILED;
    status.message = message;
    status.observedGeneration = generation;
    condition(false, reason, message);
    return plan({ kind: "fail", event: { type: "Warning", reason, message } });
  };

  if (!meta || meta.deletionTimestamp) return plan({ kind: "none" });
  if (status.phase === ClonePhase.FAILED && status.observedGeneration === generation)
    return plan({ kind: "none" });
  const targetName = spec?.target?.name ?? "";

  // Made once: a target deleted later is not made again.
  if (!target && status.targetRef?.name) return plan({ kind: "none" });
  if (target) {
    const ours = target.metadata?.annotations[cloneAnnotation] === meta.uid;
    if (!ours && !status.vmId)
      return fail(
        "TargetExists",
        `VirtualMachine ${targetName} exists and was not made by this clone`,
      );
    // Done: the target exists; report when it is ready.
    if (ours) {
      const ok = isTrue(target.status?.conditions ?? [], "Ready");
      if (ok && status.phase !== ClonePhase.READY) {
        status.phase = ClonePhase.READY;
        status.completionTime = timestampFromMs(now);
        events.push({
          type: "Normal",
          reason: "Completed",
          message: `VirtualMachine ${targetName} is ready`,
        });
      }
      condition(ok, ok ? "Completed" : "TargetNotReady");
      status.observedGeneration = generation;
      return plan({ kind: "wait" });
    }
  }

  let snapshotId = "";
  if (spec?.source?.snapshotRef) {
    if (!facts.snapshot?.status?.snapshotId) {
      status.phase = ClonePhase.PENDING;
      condition(
        false,
        "SnapshotNotReady",
        `VMSnapshot ${spec.source.snapshotRef.name} is not ready`,
      );
      return plan({ kind: "wait" });
    }
    snapshotId = facts.snapshot.status.snapshotId;
  }
  if (!sourceVm?.status?.id) {
    status.phase = ClonePhase.PENDING;
    condition(false, "SourceNotReady", "the source VirtualMachine is not created yet");
    return plan({ kind: "wait" });
  }
  const providerKey = providerKeyOf(sourceVm);
  const targetProvider = spec?.target?.providerRef;
  if (targetProvider && `${targetProvider.namespace || ns}/${targetProvider.name}` !== providerKey)
    return fail("Unsupported", `a clone stays on its source's provider ${providerKey}`);
  if (facts.notShared && !status.vmId && !status.taskRef) {
    status.phase = ClonePhase.PENDING;
    condition(
      false,
      "ReferenceNotShared",
      `the source VirtualMachine: ${facts.notShared.field}: ${facts.notShared.message}`,
    );
    return plan({ kind: "wait" });
  }
  if (!facts.connection || facts.connection.circuit !== CircuitState.CLOSED) {
    condition(false, "ProviderUnavailable", `provider ${providerKey} is unavailable`);
    return plan({ kind: "wait" });
  }

  if (status.taskRef) {
    if (!facts.task) return plan({ kind: "followTask", taskId: status.taskRef });
    status.taskRef = "";
    if (facts.task.error) {
      status.vmId = "";
      return plan({ kind: "taskFailed", error: facts.task.error });
    }
  }

  const type =
    spec?.options?.type === CloneType.LINKED_CLONE ? CloneType.LINKED_CLONE : CloneType.FULL_CLONE;
  if (!status.vmId && facts.described === undefined) {
    status.phase = ClonePhase.CLONING;
    status.startTime = timestampFromMs(now);
    status.actualCloneType = type;
    condition(false, "Cloning");
    return plan({
      kind: "clone",
      request: {
        sourceVmId: sourceVm.status.id,
        name: providerVmName(ns, targetName),
        type: providerCloneType(type),
        snapshotId,
        powerOn: spec?.options?.powerOn ?? false,
      },
      event: {
        type: "Normal",
        reason: "Cloning",
        message: `cloning ${sourceVm.metadata?.name} as ${targetName}`,
      },
    });
  }

  // The clone exists at the provider. It carries its source's labels; a VM
  // of its name with another uid is another manager's, not this clone.
  if (facts.described === undefined) return plan({ kind: "describe" });
  const described = facts.described;
  if (!described) {
    status.vmId = "";
    return plan({ kind: "vanished" });
  }
  const owner = described.labels[ownerLabels.uid] ?? "";
  if (owner && owner !== sourceVm.metadata?.uid && owner !== sourceVm.status.adoptedOwnerUid) {
    const message = `${described.name} (${status.vmId}) at ${providerKey} is not a clone of ${sourceVm.metadata?.name}: it belongs to ${ownerOf(owner, undefined)}`;
    status.vmId = "";
    return fail("OwnedByAnotherManager", message);
  }

  // Declare it.
  const made = targetVm(vmClone, sourceVm, status.vmId, owner);
  if (!made) return plan({ kind: "none" });
  status.targetRef = create(LocalObjectReferenceSchema, { name: targetName });
  return plan({
    kind: "declare",
    target: made,
    event: {
      type: "Normal",
      reason: "Cloned",
      message: `VirtualMachine ${targetName} is ${status.vmId}`,
    },
  });
}

/**
 * The VirtualMachine a clone declares: its source's spec, with the clone's
 * power, class, networks and disks, no revert; bound to the clone `vmId`,
 * whose owner label says `owner`. Undefined when the source has no spec.
 */
export function targetVm(
  vmClone: VMClone,
  sourceVm: VirtualMachine,
  vmId: string,
  owner: string,
): VirtualMachine | undefined {
  const spec = vmClone.spec;
  const ns = vmClone.metadata?.namespace || "default";
  const targetName = spec?.target?.name ?? "";
  const targetSpec = clone(VirtualMachineSchema, sourceVm).spec;
  if (!targetSpec || !sourceVm.spec) return undefined;
  targetSpec.powerState = spec?.options?.powerOn ? PowerState.ON : PowerState.OFF;
  if (spec?.target?.classRef)
    targetSpec.classRef = create(ObjectRefSchema, { name: spec.target.classRef.name });
  if (spec?.target?.networks.length) targetSpec.networks = spec.target.networks;
  if (spec?.target?.disks.length) targetSpec.disks = spec.target.disks;
  targetSpec.snapshot = undefined;
  return create(VirtualMachineSchema, {
    apiVersion,
    kind: "VirtualMachine",
    metadata: {
      name: targetName,
      namespace: ns,
      labels: { ...spec?.target?.labels },
      annotations: {
        ...spec?.target?.annotations,
        [cloneAnnotation]: vmClone.metadata?.uid ?? "",
        "virtrigaud.io/cloned-from": sourceVm.metadata?.name ?? "",
      },
    },
    spec: targetSpec,
    status: {
      id: vmId,
      boundProvider: sourceVm.status?.boundProvider,
      providerName: providerVmName(ns, targetName),
      phase: VirtualMachinePhase.PROVISIONING,
      adoptedOwnerUid: owner,
    },
  });
}
