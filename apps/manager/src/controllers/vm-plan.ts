/**
 * The VirtualMachine controller's decisions, apart from its effects: pure
 * functions of the resource, what it refers to, its status and what the
 * provider reports, each returning the next step. `vm-controller.ts` carries
 * the steps out (the provider calls, the writes, the events).
 */
import { type MessageInitShape, clone, create } from "@bufbuild/protobuf";
import {
  type CreateRequestSchema,
  PowerOperation,
  type PowerRequestSchema,
  type ReconfigureRequestSchema,
  type SnapshotRevertRequestSchema,
  type VirtualMachine as ProviderVm,
} from "@virtrigaud/contracts";
import {
  BoundProviderRefSchema,
  CircuitState,
  ConditionStatus,
  ObservedDiskSchema,
  PowerState,
  type Provider as ProviderResource,
  ProviderPhase,
  SnapshotPhase,
  type VMClass,
  type VMSnapshot,
  type VirtualMachine,
  VirtualMachinePhase,
  VirtualMachineResourcesSchema,
  type VirtualMachineStatus,
  VirtualMachineStatusSchema,
} from "@virtrigaud/proto/manager";
import { vmFinalizer } from "../api/manager-service.js";
import { durationMs } from "../manifest/quantities.js";
import { msOf } from "../store/resource-store.js";
import { effectivePolicy, guestAddresses, judgeAddresses } from "./address-policy.js";
import { cloneAnnotation } from "./clone-plan.js";
import { setCondition } from "./conditions.js";
import {
  mayRecreateMissing,
  providerMovedAnnotation,
  recreateAnnotation,
} from "./moved-provider.js";
import type { NotShared } from "./namespace-sharing.js";
import { adoptOwnerAnnotation, foreignMessage, judgeOwnership, ownerOf } from "./ownership.js";
import { providerVmName } from "./provider-names.js";
import { type Unresolved, desiredCompute } from "./resolve-vm.js";
import type { TaskOutcome } from "./tasks.js";
import { observedPower } from "./vocabulary.js";

/**
 * Annotation: reboot the running VM (the guest restarts itself, ACPI) once
 * for each new value, such as a timestamp. The value acted on is kept in
 * status.rebootRequest; a VM that is not running takes no reboot.
 */
export const rebootAnnotation = "virtrigaud.io/reboot";

/** Annotation: delete the VirtualMachine without waiting for its provider. */
export const forceDeleteAnnotation = "virtrigaud.io/force-delete";

/** How often a VirtualMachine kept off another's VM looks again (an annotation or a spec change looks at once). */
export const foreignRecheckMs = 10 * 60_000;

/** An event to record about the VirtualMachine. */
export interface VmEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** What the plan needs to know: the resource, what it refers to, its status, and what the provider said. */
export interface VmFacts {
  vm: VirtualMachine;
  /**
   * The status as it stands: the stored one, never changed by the plan, or
   * (with `ownStatus`) the reconcile's working copy.
   */
  status: VirtualMachineStatus;
  /**
   * `status` is the reconcile's own working copy, shared with nothing stored
   * (a plan made again after Create or Describe): the plan changes it in
   * place rather than copying it, a copy being most of a plan's cost.
   */
  ownStatus?: boolean;
  now: number;
  /** The Provider ("namespace/name") the VM is, or will be, on. */
  providerKey: string;
  provider: ProviderResource | undefined;
  /** The connection to that provider, if there is one. */
  connection: { circuit: CircuitState; lastError: string } | undefined;
  /** How the task in status.lastTaskRef ended; undefined while it runs (or when there is none). */
  task: TaskOutcome | undefined;
  /** What Create would be asked (without powerOn), or why the VM cannot be made yet; read only while status.id is empty. */
  create: { request: MessageInitShape<typeof CreateRequestSchema> } | { unresolved: Unresolved };
  /** The VMClass the spec names, if it exists. */
  vmClass: VMClass | undefined;
  /** The VMSnapshot spec.snapshot.revertToRef names, if it exists. */
  snapshot: VMSnapshot | undefined;
  /**
   * What Describe said of status.id: undefined before it was asked, null when
   * the VM is gone from the provider.
   */
  described: ProviderVm | null | undefined;
  /** The VirtualMachine ("namespace/name") of a uid, if this manager has it. */
  claimantOf: (uid: string) => string | undefined;
  /** Another live VirtualMachine bound to the provider VM `vmId`, if any. */
  boundElsewhere: (vmId: string) => string | undefined;
  /** A reference of the spec into another namespace whose resource is not shared with the VM's. */
  notShared: NotShared | undefined;
}

/** What the VirtualMachine controller does next. */
type VmStep =
  /** The resource is being deleted: see `planVmDelete`. */
  | { kind: "delete" }
  /** Write the status and wait to be woken (by the provider, a referred resource, a spec change). */
  | {
      kind: "wait";
      reason:
        | "ProviderNotFound"
        | "ProviderUnavailable"
        | "ReferenceNotShared"
        | Unresolved["reason"]
        | "SnapshotNotReady"
        | "InvalidSnapshot";
    }
  /** The provider task in status.lastTaskRef still runs: follow it, write nothing. */
  | { kind: "followTask"; taskId: string }
  /** The provider task failed: show the refusal of `verb`, and try again after the backoff. */
  | { kind: "taskFailed"; verb: string; error: Error }
  /** Write the status (the intent: bound provider, provider name) first, then Create. */
  | { kind: "create"; request: MessageInitShape<typeof CreateRequestSchema> }
  /** Ask the provider what it has of status.id, and plan again with the answer. */
  | { kind: "describe" }
  /** The VM is gone from the provider: write, and create it again (at once the first time). */
  | { kind: "missing" }
  /**
   * The VM is not at its provider, which moved: it is not made again unless
   * the VM asks; write, record `event`, and look again later.
   */
  | { kind: "lostAtMovedProvider"; event: VmEvent }
  /** The VM carries another resource's uid: write, record `event` after, and look again later. */
  | { kind: "foreign"; event: VmEvent }
  /** Another VirtualMachine is bound to the same VM: write, record `event` after. */
  | { kind: "nameConflict"; event: VmEvent }
  /** Revert to a snapshot; on success, record it as done (status.revertedTo), not to be done again. */
  | {
      kind: "revert";
      request: MessageInitShape<typeof SnapshotRevertRequestSchema>;
      snapshot: string;
      event: VmEvent;
    }
  /** Reconfigure; on success, remember what was asked (`requested`). */
  | {
      kind: "reconfigure";
      request: MessageInitShape<typeof ReconfigureRequestSchema>;
      requested: {
        cpu: number;
        memoryMib: number;
        disks: Array<{ name: string; sizeGib: number }>;
      };
      event: VmEvent;
    }
  /** Reboot, as the annotation asks; a refusal (or a held request) asks again later. */
  | { kind: "reboot"; request: MessageInitShape<typeof PowerRequestSchema>; event: VmEvent }
  /** Change the power state; `graceful` records the shutdown as asked for this generation. */
  | {
      kind: "power";
      request: MessageInitShape<typeof PowerRequestSchema>;
      graceful: boolean;
      event: VmEvent;
    }
  /** Nothing to do at the provider: write the status; look again after `recheckAfterMs`, if set. */
  | { kind: "settle"; recheckAfterMs: number | undefined };

/** The plan: the status to carry on with, events to record first, and the step. */
export interface VmPlan {
  status: VirtualMachineStatus;
  events: VmEvent[];
  step: VmStep;
}

/** The operation a task in status.lastTaskOperation was for, as refusals name it. */
const taskVerbs: Record<string, string> = {
  create: "Create",
  delete: "Delete",
  power: "Power",
  reboot: "Reboot",
  reconfigure: "Reconfigure",
  revert: "Revert",
};

/** Why a VM waits for a Secret of its cloud-init. */
const secretReasons = new Set<string>(["SecretNotFound", "SecretKeyNotFound", "SecretUnreadable"]);

/** The power state the spec asks for (On when unset). */
function desiredPower(vm: VirtualMachine): PowerState {
  return vm.spec?.powerState || PowerState.ON;
}

/** Copies what a provider reports of a VM into its status. */
function observe(status: VirtualMachineStatus, vm: ProviderVm): void {
  status.powerState = observedPower(vm.powerState);
  status.ips = vm.ipAddresses.map((ip) => ip.address);
  status.addresses = guestAddresses(vm.ipAddresses);
  status.consoleUrl = vm.consoleUrl;
  status.currentResources = create(VirtualMachineResourcesSchema, {
    cpu: vm.resources?.cpu ?? 0,
    memoryMib: vm.resources?.memoryMib ?? 0,
  });
  status.disks = (vm.resources?.disks ?? []).map((d) =>
    create(ObservedDiskSchema, { name: d.name, sizeGib: d.sizeGib }),
  );
  status.provider = { ...vm.providerFields };
}

/**
 * The next step for a VirtualMachine that is not being deleted (for one that
 * is, the step is `delete`): a pure function of `facts`.
 */
export function planVm(facts: VmFacts): VmPlan {
  const { vm, now, providerKey, provider } = facts;
  const meta = vm.metadata;
  const generation = meta?.generation ?? 0n;
  const annotations = meta?.annotations ?? {};
  const status = facts.ownStatus ? facts.status : clone(VirtualMachineStatusSchema, facts.status);
  const events: VmEvent[] = [];
  const ready = (ok: boolean, reason: string, message = "") =>
    setCondition(
      status.conditions,
      { type: "Ready", status: ok, reason, message },
      generation,
      now,
    );
  const plan = (step: VmStep): VmPlan => ({ status, events, step });
  const event = (type: VmEvent["type"], reason: string, message: string): VmEvent => ({
    type,
    reason,
    message,
  });

  if (meta?.deletionTimestamp) return plan({ kind: "delete" });

  // Nothing is done with a resource of another namespace that is not (or no
  // longer) shared with this one; deleting the VM still is.
  if (facts.notShared) {
    const message = `${facts.notShared.field}: ${facts.notShared.message}`;
    const before = status.conditions.find((c) => c.type === "Ready");
    if (before?.reason !== "ReferenceNotShared" || before.message !== message)
      events.push(event("Warning", "ReferenceNotShared", message));
    if (!status.id) status.phase = VirtualMachinePhase.PENDING;
    ready(false, "ReferenceNotShared", message);
    return plan({ kind: "wait", reason: "ReferenceNotShared" });
  }

  if (!provider) {
    status.phase = VirtualMachinePhase.PENDING;
    ready(false, "ProviderNotFound", `Provider ${providerKey} does not exist`);
    return plan({ kind: "wait", reason: "ProviderNotFound" });
  }
  const conn = facts.connection;
  if (
    !conn ||
    conn.circuit !== CircuitState.CLOSED ||
    provider.status?.phase !== ProviderPhase.READY
  ) {
    ready(
      false,
      "ProviderUnavailable",
      `provider ${providerKey} is unavailable${conn?.lastError ? `: ${conn.lastError}` : ""}`,
    );
    return plan({ kind: "wait", reason: "ProviderUnavailable" });
  }

  // A task in flight: wait for it, then see what it did.
  if (status.lastTaskRef) {
    if (!facts.task) return plan({ kind: "followTask", taskId: status.lastTaskRef });
    const { error } = facts.task;
    const operation = status.lastTaskOperation;
    status.lastTaskRef = "";
    status.lastTaskOperation = "";
    if (error) {
      // What the failed task was to do is asked again after the backoff.
      if (operation === "create") status.id = ""; // Create by name finds what it left, if anything.
      if (operation === "reconfigure") status.requestedResources = undefined;
      if (operation === "revert") {
        status.revertedTo = "";
        status.revertedGeneration = 0n;
      }
      if (operation === "power") status.gracefulShutdownGeneration = 0n;
      if (operation === "reboot") status.rebootRequest = "";
      return plan({ kind: "taskFailed", verb: taskVerbs[operation] ?? "Task", error });
    }
  }

  const desired = desiredPower(vm);
  // Not made yet (a Create without a task is described at once, whatever id it gave).
  if (!status.id && facts.described === undefined) {
    const resolved = facts.create;
    if ("unresolved" in resolved) {
      status.phase = VirtualMachinePhase.PENDING;
      const { reason, message } = resolved.unresolved;
      // A Secret is the user's to fix, and without it the VM would boot
      // without its cloud-init: said where people look, as well as in Ready.
      if (secretReasons.has(reason)) events.push(event("Warning", reason, message));
      ready(false, reason, message);
      return plan({ kind: "wait", reason: resolved.unresolved.reason }); // Woken when the class, image or network changes.
    }
    // Intent first: if the manager dies during Create, the next run knows
    // which provider may hold the VM, and Create (idempotent by name) finds it.
    const ns = meta?.namespace || "default";
    status.boundProvider = create(BoundProviderRefSchema, {
      namespace: provider.metadata?.namespace ?? "",
      name: provider.metadata?.name ?? "",
      uid: provider.metadata?.uid ?? "",
    });
    status.providerName = providerVmName(ns, meta?.name ?? "");
    // A new VM boots fresh: a reboot asked before it existed is done.
    status.rebootRequest = annotations[rebootAnnotation] ?? "";
    status.phase = VirtualMachinePhase.PROVISIONING;
    ready(false, "Creating", `creating ${status.providerName} on ${providerKey}`);
    return plan({
      kind: "create",
      request: { ...resolved.request, powerOn: desired === PowerState.ON },
    });
  }

  if (facts.described === undefined) return plan({ kind: "describe" });
  const observed = facts.described;
  if (!observed && !mayRecreateMissing(provider, vm)) {
    const message = `${status.id} is not at ${providerKey}, which moved (${providerMovedAnnotation}=true): the server there may not be the one it was made on, so it is not made again; annotate the VirtualMachine ${recreateAnnotation}=true to make it there`;
    status.phase = VirtualMachinePhase.FAILED;
    status.message = message;
    ready(false, "NotFoundAtProvider", message);
    return plan({
      kind: "lostAtMovedProvider",
      event: event("Warning", "NotFoundAtProvider", message),
    });
  }
  if (!observed) {
    events.push(
      event("Warning", "VMMissing", `${status.id} is gone from ${providerKey}; creating it again`),
    );
    status.id = "";
    status.phase = VirtualMachinePhase.PENDING;
    ready(false, "VMMissing", "the VM is gone from its provider");
    return plan({ kind: "missing" });
  }

  const ownership = judgeOwnership(vm, observed.labels);
  if (ownership.verdict === "foreign") {
    // Another resource's VM, most likely another manager's: hands off.
    const claimant = facts.claimantOf(ownership.ownerUid);
    const reason = claimant ? "NameConflict" : "OwnedByAnotherManager";
    const message = foreignMessage(
      observed.name,
      observed.id,
      providerKey,
      ownership.ownerUid,
      claimant,
    );
    status.id = "";
    status.phase = VirtualMachinePhase.FAILED;
    status.message = message;
    ready(false, reason, message);
    return plan({ kind: "foreign", event: event("Warning", reason, message) });
  }
  if (ownership.verdict === "adopt") {
    status.adoptedOwnerUid = ownership.ownerUid;
    events.push(
      event(
        "Normal",
        "Adopted",
        `took over ${observed.name} (${observed.id}) on ${providerKey} from the VirtualMachine of uid ${ownership.ownerUid}, as ${adoptOwnerAnnotation} asks`,
      ),
    );
  }
  // Another VirtualMachine bound to this very VM (not one copied from it,
  // as a clone's labels are) means two resources claim it.
  if (ownership.verdict === "unlabelled") {
    const other = facts.boundElsewhere(observed.id);
    if (other) {
      status.id = "";
      status.phase = VirtualMachinePhase.FAILED;
      ready(
        false,
        "NameConflict",
        `${observed.name} at ${providerKey} belongs to VirtualMachine ${other}`,
      );
      return plan({
        kind: "nameConflict",
        event: event("Warning", "NameConflict", `${observed.name} belongs to ${other}`),
      });
    }
    if (status.observedGeneration === 0n && !annotations[cloneAnnotation])
      events.push(
        event(
          "Normal",
          "Adopted",
          `adopted ${observed.name} (${observed.id}), which was already on ${providerKey}`,
        ),
      );
  }
  if (status.observedGeneration === 0n && status.phase === VirtualMachinePhase.PROVISIONING)
    events.push(event("Normal", "Created", `${observed.name} is ${observed.id} on ${providerKey}`));
  observe(status, observed);
  status.message = "";

  // Revert to a snapshot once per request: when the spec names one other than
  // the last done. Any other change of the spec (power, labels) leaves the
  // guest's disks alone; a spec that names none forgets the last revert, so
  // the same snapshot can be asked for again.
  const revert = vm.spec?.snapshot?.revertToRef?.name;
  if (!revert) {
    status.revertedTo = "";
    status.revertedGeneration = 0n;
  }
  if (revert && status.revertedTo !== revert) {
    const snapshot = facts.snapshot;
    if (
      !snapshot ||
      snapshot.status?.phase !== SnapshotPhase.READY ||
      !snapshot.status.snapshotId
    ) {
      ready(false, "SnapshotNotReady", `VMSnapshot ${revert} is not ready to revert to`);
      return plan({ kind: "wait", reason: "SnapshotNotReady" }); // Woken when the snapshot changes.
    }
    if (snapshot.spec?.vmRef?.name !== meta?.name || snapshot.status.vmId !== status.id) {
      status.revertedTo = revert;
      status.revertedGeneration = generation;
      ready(false, "InvalidSnapshot", `VMSnapshot ${revert} is not a snapshot of this VM`);
      return plan({ kind: "wait", reason: "InvalidSnapshot" });
    }
    return plan({
      kind: "revert",
      request: { vmId: status.id, snapshotId: snapshot.status.snapshotId },
      snapshot: revert,
      event: event("Normal", "Reverting", `reverting to VMSnapshot ${revert}`),
    });
  }

  // Reconfigure CPU, memory and disks.
  const vmClass = facts.vmClass;
  if (vmClass) {
    const want = desiredCompute(vm, vmClass);
    const have = status.currentResources;
    const grows: Array<{ name: string; sizeGib: number }> = [];
    let shrink = "";
    for (const disk of vm.spec?.disks ?? []) {
      const current = status.disks.find((d) => d.name === disk.name);
      if (!current) continue;
      if (disk.sizeGib > current.sizeGib) grows.push({ name: disk.name, sizeGib: disk.sizeGib });
      else if (disk.sizeGib < current.sizeGib)
        shrink = `disk ${disk.name} is ${current.sizeGib} GiB and cannot shrink to ${disk.sizeGib}`;
    }
    const differs = have?.cpu !== want.cpu || have.memoryMib !== want.memoryMib || grows.length > 0;
    if (shrink)
      setCondition(
        status.conditions,
        { type: "DiskShrinkRefused", status: true, reason: "DisksNeverShrink", message: shrink },
        generation,
        now,
      );
    else status.conditions = status.conditions.filter((c) => c.type !== "DiskShrinkRefused");
    const restart = status.conditions.find((c) => c.type === "RestartRequired");
    const asked = status.requestedResources;
    const sameAsAsked =
      asked !== undefined &&
      asked.cpu === want.cpu &&
      asked.memoryMib === want.memoryMib &&
      grows.every((g) => asked.disks.some((d) => d.name === g.name && d.sizeGib === g.sizeGib));
    if (differs && !sameAsAsked) {
      status.phase = VirtualMachinePhase.RECONFIGURING;
      return plan({
        kind: "reconfigure",
        request: {
          vmId: status.id,
          ...(have?.cpu !== want.cpu ? { cpu: want.cpu } : {}),
          ...(have?.memoryMib !== want.memoryMib ? { memoryMib: want.memoryMib } : {}),
          disks: grows,
        },
        requested: { cpu: want.cpu, memoryMib: want.memoryMib, disks: grows },
        event: event(
          "Normal",
          "Reconfiguring",
          `cpu ${have?.cpu}→${want.cpu}, memory ${have?.memoryMib}→${want.memoryMib} MiB${grows.length ? `, disks ${grows.map((g) => `${g.name}→${g.sizeGib} GiB`).join(", ")}` : ""}`,
        ),
      });
    }
    if (!differs) {
      status.requestedResources = undefined;
      if (restart?.status === ConditionStatus.TRUE) {
        setCondition(
          status.conditions,
          { type: "RestartRequired", status: false, reason: "Applied", message: "" },
          generation,
          now,
        );
        events.push(event("Normal", "Reconfigured", "the VM runs with its declared resources"));
      }
    }
  }

  // Power.
  const power = status.powerState;

  // A reboot asked through the annotation, once per value.
  const rebootAsked = annotations[rebootAnnotation] ?? "";
  if (rebootAsked && rebootAsked !== status.rebootRequest) {
    status.rebootRequest = rebootAsked;
    const quoted = JSON.stringify(rebootAsked.slice(0, 64));
    if (power !== PowerState.ON || desired !== PowerState.ON)
      events.push(
        event("Normal", "RebootSkipped", `reboot ${quoted} not done: the VM is not running`),
      );
    else
      return plan({
        kind: "reboot",
        request: { vmId: status.id, operation: PowerOperation.REBOOT },
        event: event("Normal", "Rebooting", `rebooting, as ${rebootAnnotation}=${quoted} asks`),
      });
  }
  let operation: PowerOperation | undefined;
  if (desired === PowerState.ON && power !== PowerState.ON) operation = PowerOperation.ON;
  if (desired === PowerState.OFF && (power === PowerState.ON || power === PowerState.SUSPENDED))
    operation = PowerOperation.OFF;
  if (
    desired === PowerState.OFF_GRACEFUL &&
    power === PowerState.ON &&
    status.gracefulShutdownGeneration !== generation
  )
    operation = PowerOperation.SHUTDOWN;
  if (operation !== undefined) {
    const timeout = vm.spec?.lifecycle?.gracefulShutdownTimeout;
    const graceful = operation === PowerOperation.SHUTDOWN;
    const reason = {
      [PowerOperation.ON]: "PowerOn",
      [PowerOperation.OFF]: "PowerOff",
      [PowerOperation.SHUTDOWN]: "Shutdown",
    }[operation as 1 | 2 | 4];
    return plan({
      kind: "power",
      request: {
        vmId: status.id,
        operation,
        ...(graceful
          ? { gracefulTimeoutSeconds: Math.ceil((timeout ? durationMs(timeout) : 60_000) / 1000) }
          : {}),
      },
      graceful,
      event: event(
        "Normal",
        reason,
        `power ${PowerState[power] ?? "unknown"} → ${PowerState[desired]}`,
      ),
    });
  }

  // Settled, or not: the ready rule.
  status.phase =
    power === PowerState.ON ? VirtualMachinePhase.RUNNING : VirtualMachinePhase.STOPPED;
  const settled =
    desired === PowerState.ON
      ? power === PowerState.ON
      : power !== PowerState.ON || desired === PowerState.OFF_GRACEFUL;
  // Guest addresses: reported as they come; waited for, up to the policy's timeout.
  const addresses = judgeAddresses({
    policy: effectivePolicy(vm, vmClass),
    addresses: status.addresses,
    running: power === PowerState.ON,
    hasNic: (observed.resources?.networkInterfaces.length ?? 0) > 0,
    waitingSince: msOf(status.addressWait?.waitingSince),
    now,
  });
  status.addressWait = addresses.wait;
  if (addresses.condition)
    setCondition(
      status.conditions,
      { type: "AddressAssigned", ...addresses.condition },
      generation,
      now,
    );
  else status.conditions = status.conditions.filter((c) => c.type !== "AddressAssigned");
  const holds = settled && desired === PowerState.ON ? addresses.holdsReady : undefined;
  if (holds) ready(false, holds.reason, holds.message);
  else
    ready(
      settled,
      settled ? "Ready" : "PowerStateDiffers",
      settled ? "" : `power is ${PowerState[power]}`,
    );
  status.observedGeneration = generation;
  return plan({ kind: "settle", recheckAfterMs: addresses.recheckAfterMs });
}

/**
 * After the provider took a reconfigure: when it applies some of it only at
 * the next power cycle, the RestartRequired condition and a Warning event say
 * so (the condition goes once the VM runs with its declared resources).
 * Changes `status`; returns the events to record.
 */
export function planReconfigured(
  status: VirtualMachineStatus,
  powerCycleRequired: boolean,
  generation: bigint,
  now: number,
): VmEvent[] {
  if (!powerCycleRequired) return [];
  setCondition(
    status.conditions,
    {
      type: "RestartRequired",
      status: true,
      reason: "PowerCycleRequired",
      message: "the provider applies some of the change at the next power cycle",
    },
    generation,
    now,
  );
  return [
    {
      type: "Warning",
      reason: "RestartRequired",
      message: "the change takes effect after the VM is powered off and on",
    },
  ];
}

/** What deleting a VirtualMachine needs to know. */
export interface VmDeleteFacts {
  vm: VirtualMachine;
  /** The status as it stands (never changed by the plan). */
  status: VirtualMachineStatus;
  now: number;
  providerKey: string;
  /** The provider can be reached: there is a connection, and its circuit is closed. */
  reachable: boolean;
  /** How the task in status.lastTaskRef ended; undefined while it runs (or when there is none). */
  task: TaskOutcome | undefined;
}

/** What deleting a VirtualMachine does next. */
type VmDeleteStep =
  /** Not ours to finish (the finalizer is gone already): nothing. */
  | { kind: "none" }
  /** Let the resource go now (remove the finalizer), after recording `event`. */
  | { kind: "release"; event: VmEvent }
  /**
   * Let it go without waiting for the provider, as the annotation asks; when
   * `deleteVmId` is set, ask once (not waited for) to delete that VM, unless it is another's.
   */
  | { kind: "forceRelease"; event: VmEvent; deleteVmId: string }
  /** The provider is unavailable: write the status and wait for it. */
  | { kind: "wait" }
  /** The delete task still runs: write the status and follow it. */
  | { kind: "followTask"; taskId: string }
  /** The delete task failed: show the refusal, and try again after the backoff. */
  | { kind: "taskFailed"; error: Error }
  /** Find the VM at the provider (by name when status.id is empty) and judge it: see `planDeleteFound`. */
  | { kind: "find" };

/** The delete plan: the status to carry on with, events to record first, and the step. */
export interface VmDeletePlan {
  status: VirtualMachineStatus;
  events: VmEvent[];
  step: VmDeleteStep;
}

/** The next step of deleting a VirtualMachine (one with a deletionTimestamp): a pure function of `facts`. */
export function planVmDelete(facts: VmDeleteFacts): VmDeletePlan {
  const { vm, now, providerKey } = facts;
  const meta = vm.metadata;
  const status = clone(VirtualMachineStatusSchema, facts.status);
  const events: VmEvent[] = [];
  const plan = (step: VmDeleteStep): VmDeletePlan => ({ status, events, step });
  if (!meta?.finalizers.includes(vmFinalizer)) return plan({ kind: "none" });
  if (meta.annotations[forceDeleteAnnotation] === "true")
    // Best effort: one Delete, not waited for, and never of another's VM.
    return plan({
      kind: "forceRelease",
      deleteVmId: facts.reachable ? status.id : "",
      event: {
        type: "Normal",
        reason: "ForceDeleted",
        message: `removed without waiting for the provider${status.id ? `; ${status.id} may remain there` : ""}`,
      },
    });
  if (status.phase !== VirtualMachinePhase.DELETING) {
    status.phase = VirtualMachinePhase.DELETING;
    events.push({
      type: "Normal",
      reason: "Deleting",
      message: status.id ? `deleting ${status.id}` : "deleting",
    });
  }
  if (!status.id && !status.boundProvider?.name)
    return plan({
      kind: "release",
      event: { type: "Normal", reason: "Deleted", message: "the VM was never created" },
    });
  if (!facts.reachable) {
    setCondition(
      status.conditions,
      {
        type: "Ready",
        status: false,
        reason: "DeleteBlocked",
        message: `provider ${providerKey} is unavailable; the VM goes once it is back, or annotate ${forceDeleteAnnotation}=true`,
      },
      meta.generation,
      now,
    );
    return plan({ kind: "wait" });
  }
  if (status.lastTaskRef) {
    if (!facts.task) return plan({ kind: "followTask", taskId: status.lastTaskRef });
    status.lastTaskRef = "";
    status.lastTaskOperation = "";
    if (facts.task.error) return plan({ kind: "taskFailed", error: facts.task.error });
  }
  return plan({ kind: "find" });
}

/** What to do with the VM found at the provider for a VirtualMachine being deleted. */
export type VmFoundStep =
  /** It is gone: let the resource go. */
  | { kind: "gone"; event: VmEvent }
  /** It carries another resource's uid: leave it as it is, and let the resource go. */
  | { kind: "leave"; event: VmEvent }
  /** Delete it. */
  | { kind: "delete"; vmId: string };

/**
 * Judges the VM a VirtualMachine being deleted has at its provider: `vmId`
 * (empty when none of its name was found) as Describe reported it
 * (`described`, undefined when it was not asked).
 */
export function planDeleteFound(
  vm: VirtualMachine,
  status: VirtualMachineStatus,
  providerKey: string,
  vmId: string,
  described: { exists: boolean; vm?: ProviderVm | undefined } | undefined,
  claimantOf: (uid: string) => string | undefined,
): VmFoundStep {
  if (vmId && described?.exists) {
    const ownership = judgeOwnership(vm, described.vm?.labels ?? {});
    if (ownership.verdict === "foreign")
      return {
        kind: "leave",
        event: {
          type: "Warning",
          reason: "OwnedByAnotherManager",
          message: `left ${described.vm?.name ?? status.providerName} (${vmId}) at ${providerKey} as it is: it belongs to ${ownerOf(ownership.ownerUid, claimantOf(ownership.ownerUid))}`,
        },
      };
    return { kind: "delete", vmId };
  }
  return {
    kind: "gone",
    event: {
      type: "Normal",
      reason: "Deleted",
      message: `${status.providerName || vm.metadata?.name} is gone from ${providerKey}`,
    },
  };
}
