import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PowerOperation, type VirtualMachine as ProviderVm } from "@virtrigaud/contracts";
import {
  CircuitState,
  ConditionStatus,
  Kind,
  PowerState,
  type Provider as ProviderResource,
  ProviderPhase,
  type VMClass,
  type VMSnapshot,
  SnapshotPhase,
  type VirtualMachine,
  VirtualMachinePhase,
  type VirtualMachineStatus,
  VirtualMachineStatusSchema,
} from "@virtrigaud/proto/manager";
import { vmFinalizer } from "../api/manager-service.js";
import { durationMs } from "../manifest/quantities.js";
import { msOf } from "../store/resource-store.js";
import { effectivePolicy, guestAddresses, judgeAddresses } from "./address-policy.js";
import { setCondition } from "./conditions.js";
import { type ControllerContext, splitKey } from "./context.js";
import type { ProviderConnection } from "./provider-connection.js";
import { providerVmName } from "./provider-names.js";
import { providerKeyOf, refNamespace } from "./references.js";
import { adoptOwnerAnnotation, foreignMessage, judgeOwnership, ownerOf } from "./ownership.js";
import { RefusalMemory, backoffMs, requestDigest } from "./refusals.js";
import { desiredCompute, resolveCreate } from "./resolve-vm.js";
import { createTaskFollower } from "./tasks.js";
import { observedPower } from "./vocabulary.js";
import type { ReconcileResult } from "./work-queue.js";

/** Annotation: delete the VirtualMachine without waiting for its provider. */
export const forceDeleteAnnotation = "virtrigaud.io/force-delete";

/**
 * Annotation: reboot the running VM (the guest restarts itself, ACPI) once
 * for each new value, such as a timestamp. The value acted on is kept in
 * status.rebootRequest; a VM that is not running takes no reboot.
 */
export const rebootAnnotation = "virtrigaud.io/reboot";

/** How often a VirtualMachine kept off another's VM looks again (an annotation or a spec change looks at once). */
export const foreignRecheckMs = 10 * 60_000;

/** Copies what a provider reports of a VM into its status. */
export function observe(status: VirtualMachineStatus, vm: ProviderVm): void {
  status.powerState = observedPower(vm.powerState);
  status.ips = vm.ipAddresses.map((ip) => ip.address);
  status.addresses = guestAddresses(vm.ipAddresses);
  status.consoleUrl = vm.consoleUrl;
  status.currentResources = {
    $typeName: "virtrigaud.manager.v1.VirtualMachineResources",
    cpu: vm.resources?.cpu ?? 0,
    memoryMib: vm.resources?.memoryMib ?? 0,
  };
  status.disks = (vm.resources?.disks ?? []).map((d) => ({
    $typeName: "virtrigaud.manager.v1.ObservedDisk",
    name: d.name,
    sizeGib: d.sizeGib,
  }));
  status.provider = { ...vm.providerFields };
}

const taskVerbs: Record<string, string> = {
  create: "Create",
  delete: "Delete",
  power: "Power",
  reboot: "Reboot",
  reconfigure: "Reconfigure",
  revert: "Revert",
};

/**
 * The VirtualMachine controller: makes the VM at its provider (intent
 * recorded first; Create is idempotent by name, so a crash never makes two),
 * adopts a VM of the same name that is already there, follows tasks,
 * reports what Describe says, reverts to a snapshot once per generation,
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
 */
export function createVmController(ctx: ControllerContext) {
  const { store } = ctx;
  const refusals = new RefusalMemory();

  const write = (ns: string, name: string, status: VirtualMachineStatus) =>
    store.update<VirtualMachine>(Kind.VIRTUAL_MACHINE, ns, name, (copy) => {
      copy.status = clone(VirtualMachineStatusSchema, status);
    });

  const tasks = createTaskFollower(ctx, "vm");
  const follow = tasks.follow;

  async function reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace: ns, name } = splitKey(key);
    const vm = store.get(Kind.VIRTUAL_MACHINE, ns, name) as VirtualMachine | undefined;
    if (!vm) return;
    const meta = vm.metadata;
    if (!meta) return;
    const generation = meta.generation;
    const now = ctx.now();
    const status = vm.status
      ? clone(VirtualMachineStatusSchema, vm.status)
      : create(VirtualMachineStatusSchema);
    const providerKey = providerKeyOf(vm);
    const provider = store.get(Kind.PROVIDER, ...splitKeyArgs(providerKey)) as
      ProviderResource | undefined;
    const conn = ctx.connections.get(providerKey);
    const ready = (ok: boolean, reason: string, message = "") =>
      setCondition(
        status.conditions,
        { type: "Ready", status: ok, reason, message },
        generation,
        now,
      );
    /**
     * Shows the provider's refusal of `verb` on the resource (a Warning event
     * `<verb>Failed`, Ready=False with the provider's message and field),
     * and says when to try again. An outage is thrown: the queue backs off.
     */
    const refused = (verb: string, thrown: unknown): ReconcileResult => {
      const refusal = refusals.refuse(key, generation, thrown, now);
      if (refusal.outage) {
        ready(false, "ProviderUnavailable", refusal.message);
        write(ns, name, status);
        throw refusal.error;
      }
      if (!status.id)
        status.phase = refusal.permanent ? VirtualMachinePhase.FAILED : VirtualMachinePhase.PENDING;
      else
        status.phase =
          status.powerState === PowerState.ON
            ? VirtualMachinePhase.RUNNING
            : VirtualMachinePhase.STOPPED;
      ready(false, `${verb}Failed`, refusal.message);
      status.message = refusal.message;
      write(ns, name, status);
      ctx.event(Kind.VIRTUAL_MACHINE, vm, "Warning", `${verb}Failed`, refusal.message);
      ctx.logger.debug({ key, verb, err: refusal.error }, "the provider refused");
      return { requeueAfterMs: refusal.retryAfterMs };
    };
    /**
     * How long the request must still wait: non-zero while a refusal of the
     * very same request holds (whatever woke the resource meanwhile).
     */
    const held = (method: string, request: unknown): number =>
      refusals.ask(key, generation, requestDigest(method, request), now);

    if (meta.deletionTimestamp) return reconcileDelete(vm, status, conn, key);

    if (!provider) {
      status.phase = VirtualMachinePhase.PENDING;
      ready(false, "ProviderNotFound", `Provider ${providerKey} does not exist`);
      write(ns, name, status);
      return;
    }
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
      write(ns, name, status);
      return; // The Provider controller wakes this VM when the provider is back.
    }

    // A task in flight: wait for it, then see what it did.
    if (status.lastTaskRef) {
      const outcome = tasks.take(conn, key, status.lastTaskRef);
      if (!outcome) return;
      const { error } = outcome;
      const operation = status.lastTaskOperation;
      status.lastTaskRef = "";
      status.lastTaskOperation = "";
      if (error) {
        // What the failed task was to do is asked again after the backoff.
        if (operation === "create") status.id = ""; // Create by name finds what it left, if anything.
        if (operation === "reconfigure") status.requestedResources = undefined;
        if (operation === "revert") status.revertedGeneration = 0n;
        if (operation === "power") status.gracefulShutdownGeneration = 0n;
        if (operation === "reboot") status.rebootRequest = "";
        return refused(taskVerbs[operation] ?? "Task", error);
      }
    }

    if (!status.id) {
      const resolved = resolveCreate(store, vm, provider);
      if ("unresolved" in resolved) {
        status.phase = VirtualMachinePhase.PENDING;
        ready(false, resolved.unresolved.reason, resolved.unresolved.message);
        write(ns, name, status);
        return; // Woken when the class, image or network changes.
      }
      const desired = vm.spec?.powerState || PowerState.ON;
      const request = { ...resolved.request, powerOn: desired === PowerState.ON };
      const wait = held("create", request);
      if (wait) return { requeueAfterMs: wait };
      // Intent first: if the manager dies during Create, the next run knows
      // which provider may hold the VM, and Create (idempotent by name) finds it.
      status.boundProvider = {
        $typeName: "virtrigaud.manager.v1.BoundProviderRef",
        namespace: provider.metadata?.namespace ?? "",
        name: provider.metadata?.name ?? "",
        uid: provider.metadata?.uid ?? "",
      };
      status.providerName = providerVmName(ns, name);
      // A new VM boots fresh: a reboot asked before it existed is done.
      status.rebootRequest = meta.annotations[rebootAnnotation] ?? "";
      status.phase = VirtualMachinePhase.PROVISIONING;
      ready(false, "Creating", `creating ${status.providerName} on ${providerKey}`);
      write(ns, name, status);
      let response;
      try {
        response = await conn.call("create", request);
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
        write(ns, name, status);
        follow(conn, key, response.task.id);
        return;
      }
    }

    let described;
    try {
      described = await conn.call("describe", { vmId: status.id });
    } catch (err) {
      return refused("Describe", err);
    }
    if (!described.exists || !described.vm) {
      ctx.event(
        Kind.VIRTUAL_MACHINE,
        vm,
        "Warning",
        "VMMissing",
        `${status.id} is gone from ${providerKey}; creating it again`,
      );
      status.id = "";
      status.phase = VirtualMachinePhase.PENDING;
      ready(false, "VMMissing", "the VM is gone from its provider");
      write(ns, name, status);
      // At once the first time; a VM that vanishes again and again (a Create
      // that does not stick) backs off.
      const attempt = refusals.fail(key, generation);
      return { requeueAfterMs: attempt === 1 ? 0 : backoffMs(attempt - 1, false) };
    }
    const observed = described.vm;
    const ownership = judgeOwnership(vm, observed.labels);
    if (ownership.verdict === "foreign") {
      // Another resource's VM, most likely another manager's: hands off.
      const claimant = resourceOfUid(ownership.ownerUid);
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
      write(ns, name, status);
      ctx.event(Kind.VIRTUAL_MACHINE, vm, "Warning", reason, message);
      return { requeueAfterMs: foreignRecheckMs };
    }
    if (ownership.verdict === "adopt") {
      status.adoptedOwnerUid = ownership.ownerUid;
      ctx.event(
        Kind.VIRTUAL_MACHINE,
        vm,
        "Normal",
        "Adopted",
        `took over ${observed.name} (${observed.id}) on ${providerKey} from the VirtualMachine of uid ${ownership.ownerUid}, as ${adoptOwnerAnnotation} asks`,
      );
    }
    // Another VirtualMachine bound to this very VM (not one copied from it,
    // as a clone's labels are) means two resources claim it.
    if (ownership.verdict === "unlabelled") {
      const other = findClaimant(meta.uid, observed.id, providerKey);
      if (other) {
        status.id = "";
        status.phase = VirtualMachinePhase.FAILED;
        ready(
          false,
          "NameConflict",
          `${observed.name} at ${providerKey} belongs to VirtualMachine ${other}`,
        );
        write(ns, name, status);
        ctx.event(
          Kind.VIRTUAL_MACHINE,
          vm,
          "Warning",
          "NameConflict",
          `${observed.name} belongs to ${other}`,
        );
        return;
      }
      if (status.observedGeneration === 0n && !meta.annotations["virtrigaud.io/clone"])
        ctx.event(
          Kind.VIRTUAL_MACHINE,
          vm,
          "Normal",
          "Adopted",
          `adopted ${observed.name} (${observed.id}), which was already on ${providerKey}`,
        );
    }
    if (status.observedGeneration === 0n && status.phase === VirtualMachinePhase.PROVISIONING)
      ctx.event(
        Kind.VIRTUAL_MACHINE,
        vm,
        "Normal",
        "Created",
        `${observed.name} is ${observed.id} on ${providerKey}`,
      );
    observe(status, observed);
    status.message = "";

    // Revert to a snapshot, once per generation.
    const revert = vm.spec?.snapshot?.revertToRef?.name;
    if (revert && (status.revertedTo !== revert || status.revertedGeneration !== generation)) {
      const snapshot = store.get(Kind.VM_SNAPSHOT, ns, revert) as VMSnapshot | undefined;
      if (
        !snapshot ||
        snapshot.status?.phase !== SnapshotPhase.READY ||
        !snapshot.status.snapshotId
      ) {
        ready(false, "SnapshotNotReady", `VMSnapshot ${revert} is not ready to revert to`);
        write(ns, name, status);
        return; // Woken when the snapshot changes.
      }
      if (snapshot.spec?.vmRef?.name !== name || snapshot.status.vmId !== status.id) {
        status.revertedTo = revert;
        status.revertedGeneration = generation;
        ready(false, "InvalidSnapshot", `VMSnapshot ${revert} is not a snapshot of this VM`);
        write(ns, name, status);
        return;
      }
      const request = { vmId: status.id, snapshotId: snapshot.status.snapshotId };
      const wait = held("snapshotRevert", request);
      if (wait) return { requeueAfterMs: wait };
      let response;
      try {
        response = await conn.call("snapshotRevert", request);
      } catch (err) {
        return refused("Revert", err);
      }
      status.revertedTo = revert;
      status.revertedGeneration = generation;
      ctx.event(
        Kind.VIRTUAL_MACHINE,
        vm,
        "Normal",
        "Reverting",
        `reverting to VMSnapshot ${revert}`,
      );
      return afterAction(response.task?.id, "revert");
    }

    // Reconfigure CPU, memory and disks.
    const classRef = vm.spec?.classRef;
    const vmClass = classRef
      ? (store.get(Kind.VM_CLASS, refNamespace(classRef, ns), classRef.name) as VMClass | undefined)
      : undefined;
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
      const differs =
        have?.cpu !== want.cpu || have.memoryMib !== want.memoryMib || grows.length > 0;
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
        const request = {
          vmId: status.id,
          ...(have?.cpu !== want.cpu ? { cpu: want.cpu } : {}),
          ...(have?.memoryMib !== want.memoryMib ? { memoryMib: want.memoryMib } : {}),
          disks: grows,
        };
        const wait = held("reconfigure", request);
        if (wait) return { requeueAfterMs: wait };
        status.phase = VirtualMachinePhase.RECONFIGURING;
        let response;
        try {
          response = await conn.call("reconfigure", request);
        } catch (err) {
          return refused("Reconfigure", err);
        }
        status.requestedResources = {
          $typeName: "virtrigaud.manager.v1.RequestedResources",
          cpu: want.cpu,
          memoryMib: want.memoryMib,
          disks: grows.map((g) => ({ $typeName: "virtrigaud.manager.v1.ObservedDisk", ...g })),
        };
        status.lastReconfigureTime = timestampFromMs(now);
        ctx.event(
          Kind.VIRTUAL_MACHINE,
          vm,
          "Normal",
          "Reconfiguring",
          `cpu ${have?.cpu}→${want.cpu}, memory ${have?.memoryMib}→${want.memoryMib} MiB${grows.length ? `, disks ${grows.map((g) => `${g.name}→${g.sizeGib} GiB`).join(", ")}` : ""}`,
        );
        if (response.powerCycleRequired) {
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
          ctx.event(
            Kind.VIRTUAL_MACHINE,
            vm,
            "Warning",
            "RestartRequired",
            "the change takes effect after the VM is powered off and on",
          );
        }
        return afterAction(response.task?.id, "reconfigure");
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
          ctx.event(
            Kind.VIRTUAL_MACHINE,
            vm,
            "Normal",
            "Reconfigured",
            "the VM runs with its declared resources",
          );
        }
      }
    }

    // Power.
    const desired = vm.spec?.powerState || PowerState.ON;
    const power = status.powerState;

    // A reboot asked through the annotation, once per value.
    const rebootAsked = meta.annotations[rebootAnnotation] ?? "";
    if (rebootAsked && rebootAsked !== status.rebootRequest) {
      status.rebootRequest = rebootAsked;
      if (power !== PowerState.ON || desired !== PowerState.ON) {
        ctx.event(
          Kind.VIRTUAL_MACHINE,
          vm,
          "Normal",
          "RebootSkipped",
          `reboot ${JSON.stringify(rebootAsked.slice(0, 64))} not done: the VM is not running`,
        );
      } else {
        const request = { vmId: status.id, operation: PowerOperation.REBOOT };
        const wait = held("reboot", request);
        if (wait) {
          status.rebootRequest = "";
          return { requeueAfterMs: wait };
        }
        let response;
        try {
          response = await conn.call("power", request);
        } catch (err) {
          status.rebootRequest = "";
          return refused("Reboot", err);
        }
        ctx.event(
          Kind.VIRTUAL_MACHINE,
          vm,
          "Normal",
          "Rebooting",
          `rebooting, as ${rebootAnnotation}=${JSON.stringify(rebootAsked.slice(0, 64))} asks`,
        );
        return afterAction(response.task?.id, "reboot");
      }
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
      const request = {
        vmId: status.id,
        operation,
        ...(operation === PowerOperation.SHUTDOWN
          ? { gracefulTimeoutSeconds: Math.ceil((timeout ? durationMs(timeout) : 60_000) / 1000) }
          : {}),
      };
      const wait = held("power", request);
      if (wait) return { requeueAfterMs: wait };
      let response;
      try {
        response = await conn.call("power", request);
      } catch (err) {
        return refused("Power", err);
      }
      if (operation === PowerOperation.SHUTDOWN) status.gracefulShutdownGeneration = generation;
      const reason = {
        [PowerOperation.ON]: "PowerOn",
        [PowerOperation.OFF]: "PowerOff",
        [PowerOperation.SHUTDOWN]: "Shutdown",
      }[operation as 1 | 2 | 4];
      ctx.event(
        Kind.VIRTUAL_MACHINE,
        vm,
        "Normal",
        reason,
        `power ${PowerState[power] ?? "unknown"} → ${PowerState[desired]}`,
      );
      return afterAction(response.task?.id, "power");
    }

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
    write(ns, name, status);
    refusals.forget(key);
    return addresses.recheckAfterMs !== undefined
      ? { requeueAfterMs: addresses.recheckAfterMs }
      : undefined;

    function afterAction(taskId: string | undefined, op: string): ReconcileResult | void {
      if (taskId) {
        status.lastTaskRef = taskId;
        status.lastTaskOperation = op;
        write(ns, name, status);
        follow(conn as ProviderConnection, key, taskId);
        return;
      }
      write(ns, name, status);
      return { requeueAfterMs: 0 };
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
    status: VirtualMachineStatus,
    conn: ProviderConnection | undefined,
    key: string,
  ): Promise<ReconcileResult | void> {
    const meta = vm.metadata;
    if (!meta) return;
    const ns = meta.namespace || "default";
    const name = meta.name;
    const now = ctx.now();
    const providerKey = providerKeyOf(vm);
    const removeFinalizer = (type: "Normal" | "Warning", reason: string, message: string) => {
      ctx.event(Kind.VIRTUAL_MACHINE, vm, type, reason, message);
      refusals.forget(key);
      store.update<VirtualMachine>(Kind.VIRTUAL_MACHINE, ns, name, (copy) => {
        if (copy.metadata)
          copy.metadata.finalizers = copy.metadata.finalizers.filter((f) => f !== vmFinalizer);
      });
    };
    const ready = (reason: string, message: string) =>
      setCondition(
        status.conditions,
        { type: "Ready", status: false, reason, message },
        meta.generation,
        now,
      );
    /** Shows a refusal of the delete, and says when to try again. */
    const refused = (thrown: unknown): ReconcileResult => {
      const refusal = refusals.refuse(key, meta.generation, thrown, now);
      if (refusal.outage) {
        ready("DeleteBlocked", refusal.message);
        write(ns, name, status);
        throw refusal.error;
      }
      ready("DeleteFailed", refusal.message);
      status.message = refusal.message;
      write(ns, name, status);
      ctx.event(Kind.VIRTUAL_MACHINE, vm, "Warning", "DeleteFailed", refusal.message);
      return { requeueAfterMs: refusal.retryAfterMs };
    };
    /** Leaves a VM that carries another resource's uid where it is, and lets the resource go. */
    const leave = (vmName: string, vmId: string, ownerUid: string) =>
      removeFinalizer(
        "Warning",
        "OwnedByAnotherManager",
        `left ${vmName} (${vmId}) at ${providerKey} as it is: it belongs to ${ownerOf(ownerUid, resourceOfUid(ownerUid))}`,
      );
    if (!meta.finalizers.includes(vmFinalizer)) return;
    const force = meta.annotations[forceDeleteAnnotation] === "true";
    const reachable = conn && conn.circuit === CircuitState.CLOSED;
    if (force) {
      // Best effort: one Delete, not waited for, and never of another's VM.
      if (reachable && status.id) void deleteIfOwn(conn, vm, status.id);
      removeFinalizer(
        "Normal",
        "ForceDeleted",
        `removed without waiting for the provider${status.id ? `; ${status.id} may remain there` : ""}`,
      );
      return;
    }
    if (status.phase !== VirtualMachinePhase.DELETING) {
      status.phase = VirtualMachinePhase.DELETING;
      ctx.event(
        Kind.VIRTUAL_MACHINE,
        vm,
        "Normal",
        "Deleting",
        status.id ? `deleting ${status.id}` : "deleting",
      );
    }
    if (!status.id && !status.boundProvider?.name) {
      removeFinalizer("Normal", "Deleted", "the VM was never created");
      return;
    }
    if (!reachable) {
      ready(
        "DeleteBlocked",
        `provider ${providerKey} is unavailable; the VM goes once it is back, or annotate ${forceDeleteAnnotation}=true`,
      );
      write(ns, name, status);
      return;
    }
    if (status.lastTaskRef) {
      const outcome = tasks.take(conn, key, status.lastTaskRef);
      if (!outcome) {
        write(ns, name, status);
        return;
      }
      const { error } = outcome;
      status.lastTaskRef = "";
      status.lastTaskOperation = "";
      if (error) return refused(error);
    }
    try {
      let id = status.id;
      if (!id) {
        // Created, perhaps, just before a crash: find it by name.
        const page = await conn.call("listVMs", { namePrefix: status.providerName, pageSize: 10 });
        id = page.vms.find((v) => v.name === status.providerName)?.id ?? "";
      }
      if (id) {
        const described = await conn.call("describe", { vmId: id });
        if (described.exists) {
          const ownership = judgeOwnership(vm, described.vm?.labels ?? {});
          if (ownership.verdict === "foreign") {
            leave(described.vm?.name ?? status.providerName, id, ownership.ownerUid);
            return;
          }
          const response = await conn.call("delete", { vmId: id });
          status.id = id;
          if (response.task) {
            status.lastTaskRef = response.task.id;
            status.lastTaskOperation = "delete";
            write(ns, name, status);
            follow(conn, key, response.task.id);
            return;
          }
          write(ns, name, status);
          return { requeueAfterMs: 0 };
        }
      }
    } catch (err) {
      return refused(err);
    }
    removeFinalizer(
      "Normal",
      "Deleted",
      `${status.providerName || name} is gone from ${providerKey}`,
    );
  }

  /** Deletes a VM, unless it carries another resource's uid; errors are dropped (best effort). */
  async function deleteIfOwn(
    conn: ProviderConnection,
    vm: VirtualMachine,
    vmId: string,
  ): Promise<void> {
    try {
      const described = await conn.call("describe", { vmId });
      if (!described.exists || judgeOwnership(vm, described.vm?.labels ?? {}).verdict === "foreign")
        return;
      await conn.call("delete", { vmId });
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
