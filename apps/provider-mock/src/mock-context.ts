import {
  type Capabilities,
  type Clock,
  type CreateOnce,
  Firmware,
  type Logger,
  PowerState,
  type Provider,
  ProviderError,
  type ProviderMethodName,
  type ProviderOperation,
  type TaskRef,
  type TaskTracker,
  createOnceByName,
} from "@virtrigaud/contracts";
import type { DiskStore } from "./disk-store.js";
import type { MockStore } from "./mock-store.js";
import type { VmRecord } from "./vm-record.js";

/**
 * Where the mock's world may depart from the ideal: tasks that fail, guests
 * that ignore ACPI. The reference provider asks; `honestWorld` never departs,
 * and with-faults.ts supplies one that follows the fault rules.
 */
export interface MockWorld {
  /** The error a task of `operation` ends with instead of doing its work, if any. */
  taskFailure(operation: ProviderMethodName): ProviderError | undefined;
  /** Whether the guest ignores this ACPI shutdown request (then SHUTDOWN waits out its timeout). */
  ignoresAcpi(): boolean;
}

/** A world where every task works and every guest shuts down when asked. */
export const honestWorld: MockWorld = {
  taskFailure: () => undefined,
  ignoresAcpi: () => false,
};

/** What every operation of the mock works with, made once per provider. */
export interface MockContext {
  readonly store: MockStore;
  /** Disk bytes: exports and imports, in memory. */
  readonly disks: DiskStore;
  readonly tasks: TaskTracker;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly world: MockWorld;
  /** How long every task takes, on `clock`. */
  readonly latencyMs: number;
  readonly capabilities: Capabilities;
  /** Template names Create accepts besides prepared images. */
  readonly templates: ReadonlySet<string>;
  /** Creates and clones under way by name. */
  readonly creations: CreateOnce<CreateAnswer>;
  /** Tasks of snapshots still being taken, by snapshot id, so a repeated call joins them. */
  readonly snapshotTasks: Map<string, string>;
  /** Images whose ImagePrepare task is still running, so a repeated call joins it. */
  readonly preparing: Map<string, { name: string; source: string; taskId: string }>;
  /** What SetCredentials last handed over, in memory only (never in the state file). */
  readonly credentials: Map<string, Uint8Array>;
  /** A new MAC address in QEMU's range, from the seeded generator. */
  newMac(): string;
  /** A new guest address in 10.77.0.0/16, from the seeded generator. */
  newGuestAddress(): string;
}

/** What Create and Clone answer: the VM's id, and the task that makes it while that runs. */
export interface CreateAnswer {
  vmId: string;
  task?: { id: string };
}

/** The mock with every method, as the reference builds it and `withFaults` wraps it. */
export type CompleteMockProvider = Required<Provider> & {
  close(): Promise<void>;
};

/**
 * A provider method as the mock's modules implement it: given the context,
 * the request and the call's signal.
 */
export type MockOperation<M extends ProviderMethodName> = ProviderOperation<MockContext, M>;

/** What `createMockContext` needs. */
export interface MockContextParts {
  store: MockStore;
  disks: DiskStore;
  tasks: TaskTracker;
  clock: Clock;
  logger: Logger;
  world: MockWorld;
  latencyMs: number;
  capabilities: Capabilities;
  templates: ReadonlySet<string>;
  /** Numbers in [0, 1), seeded. */
  random: () => number;
}

/** Builds the context the operations share. */
export function createMockContext(parts: MockContextParts): MockContext {
  const { random } = parts;
  const byte = () => Math.floor(random() * 254) + 1;
  return {
    ...parts,
    creations: createOnceByName(),
    snapshotTasks: new Map(),
    preparing: new Map(),
    credentials: new Map(),
    newMac: () =>
      `52:54:00:${[byte(), byte(), byte()].map((b) => b.toString(16).padStart(2, "0")).join(":")}`,
    newGuestAddress: () => `10.77.${byte()}.${byte()}`,
  };
}

/**
 * Runs `apply` as a task of `operation` after the configured latency. When
 * the world fails the task, it ends with that error and `undo` runs instead.
 */
export function runTask(
  ctx: MockContext,
  operation: ProviderMethodName,
  description: string,
  apply: (signal: AbortSignal) => void | Promise<void>,
  undo: () => void = () => {},
): TaskRef {
  const failure = ctx.world.taskFailure(operation);
  return ctx.tasks.start(description, async ({ signal }) => {
    try {
      if (ctx.latencyMs > 0) await ctx.clock.sleep(ctx.latencyMs, signal);
      if (failure) throw failure;
      await apply(signal);
    } catch (err) {
      // Stopped by shutdown: keep the work in progress, to be finished at the
      // next start (see MockStore), rather than undo what the caller was promised.
      if (!signal.aborted) undo();
      throw err;
    } finally {
      ctx.store.changed();
    }
  });
}

/** The VM, or NOT_FOUND. */
export function findVm(ctx: MockContext, vmId: string): VmRecord {
  const vm = ctx.store.vms.get(vmId);
  if (!vm) throw ProviderError.notFound(`vm ${vmId} does not exist`);
  return vm;
}

/**
 * The VM, when no create or delete is running on it.
 *
 * @throws ProviderError NOT_FOUND; RETRYABLE while it is being created; CONFLICT while it is being deleted.
 */
export function readyVm(ctx: MockContext, vmId: string): VmRecord {
  const vm = findVm(ctx, vmId);
  if (vm.phase === "creating") {
    throw ProviderError.retryable(`vm ${vmId} is still being created`, {
      retryAfterMs: Math.max(100, ctx.latencyMs),
    });
  }
  if (vm.phase === "deleting") throw ProviderError.conflict(`vm ${vmId} is being deleted`);
  return vm;
}

/** The linked clones layered on `vm` (on `snapshotId` of it, when given). */
export function linkedClonesOf(ctx: MockContext, vm: VmRecord, snapshotId?: string): VmRecord[] {
  return [...ctx.store.vms.values()].filter(
    (c) =>
      c.linkedTo?.vmId === vm.id &&
      (snapshotId === undefined || c.linkedTo.snapshotId === snapshotId),
  );
}

/** A new VM record, being created, with `fields` over the defaults. */
export function newVmRecord(ctx: MockContext, name: string, fields: Partial<VmRecord>): VmRecord {
  return {
    id: ctx.store.newId("vm"),
    name,
    phase: "creating",
    taskId: "",
    powerState: PowerState.OFF,
    firmware: Firmware.BIOS,
    config: { cpu: 1, memoryMib: 1024, disks: [] },
    pending: undefined,
    nics: [],
    guestAddress: ctx.newGuestAddress(),
    tags: [],
    labels: {},
    image: "",
    createTime: ctx.clock.now(),
    snapshots: [],
    currentSnapshotId: "",
    linkedTo: undefined,
    ...fields,
  };
}

/** The answer to a repeated Create or Clone of a VM that exists: the VM, and its create task while that runs. */
export function existingAnswer(vm: VmRecord): CreateAnswer {
  return { vmId: vm.id, ...(vm.taskId ? { task: { id: vm.taskId } } : {}) };
}

/**
 * Adds `vm` and starts the task that finishes creating it (the store keeps
 * the task's id for repeated calls). When it fails, the VM goes, and so does
 * whatever `undo` reverts.
 */
export function finishCreate(
  ctx: MockContext,
  vm: VmRecord,
  operation: "create" | "clone",
  powerOn: boolean,
  prepare?: (signal: AbortSignal) => Promise<void>,
  undo: () => void = () => {},
): { vmId: string; task: TaskRef } {
  ctx.store.add(vm);
  const task = runTask(
    ctx,
    operation,
    `${operation} ${vm.name}`,
    async (signal) => {
      await prepare?.(signal);
      vm.phase = "ready";
      vm.taskId = "";
      if (powerOn) vm.powerState = PowerState.ON;
    },
    () => {
      ctx.store.remove(vm);
      undo();
    },
  );
  vm.taskId = task.id;
  return { vmId: vm.id, task };
}
