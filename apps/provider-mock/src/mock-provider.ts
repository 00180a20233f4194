import {
  type Clock,
  type Logger,
  type Provider,
  createLogger,
  createTaskTracker,
  systemClock,
  operationBinder,
} from "@virtrigaud/contracts";
import { type CapabilityFlag, mockCapabilities } from "./capabilities.js";
import { cloneVm } from "./clone-vm.js";
import { createVm } from "./create-vm.js";
import { deleteVm } from "./delete-vm.js";
import { describe } from "./describe-vm.js";
import { describeDisks } from "./describe-disks.js";
import { diskExportBegin, diskExportEnd, diskExportRead } from "./disk-export.js";
import {
  diskImportAbort,
  diskImportBegin,
  diskImportCommit,
  diskImportWrite,
} from "./disk-import.js";
import { DiskStore } from "./disk-store.js";
import { type FaultRule, createFaultInjector } from "./faults.js";
import { getTask } from "./get-task.js";
import { imagePrepare } from "./image-prepare.js";
import { listVms } from "./list-vms.js";
import {
  type CompleteMockProvider,
  type MockContext,
  createMockContext,
  honestWorld,
} from "./mock-context.js";
import { MockStore } from "./mock-store.js";
import { power } from "./power.js";
import { createPrng } from "./prng.js";
import { reconfigure } from "./reconfigure.js";
import { type SeedInventory, checkSeedInventory } from "./seed-inventory.js";
import { seedVms } from "./seed-vms.js";
import { serialConsole } from "./serial-console.js";
import { snapshotCreate, snapshotDelete, snapshotList, snapshotRevert } from "./snapshots.js";
import { validate } from "./validate.js";
import { setCredentials } from "./set-credentials.js";
import { faultyWorld, withFaults } from "./with-faults.js";

export { capabilityFlags, type CapabilityFlag } from "./capabilities.js";

/** Options of `createMockProvider`. */
export interface MockProviderOptions {
  /** How long every task takes, on `clock`. Default: 0 (done as soon as the call returns). */
  latencyMs?: number;
  /** Seeds generated MAC and IP addresses and fault decisions. Default: 1. */
  seed?: number;
  /** Faults to inject. Default: none. */
  faults?: FaultRule[];
  /** Keep the inventory in this JSON file, so it survives a restart. Default: memory only. */
  stateFile?: string;
  /** Templates and VMs to start with. Checked like `--inventory` files. */
  inventory?: SeedInventory;
  /**
   * The length of the bytes of each disk the mock makes up (one that was not
   * imported): what DiskExportBegin exports. Default: 8 MiB.
   */
  diskBytes?: number;
  /** The most bytes of disk exports and imports held in memory. Default: 1 GiB. */
  diskMemoryBytes?: number;
  /**
   * Bytes a running guest writes into its boot disk right after each
   * snapshot and as it shuts down, so that a live migration's final sync
   * has changes to carry. Default: 0 (guests write nothing).
   */
  guestWriteBytes?: number;
  /** Capabilities to declare as unsupported. */
  disable?: CapabilityFlag[];
  /** Default: the system clock. A fake clock lets tests finish tasks without sleeping. */
  clock?: Clock;
  /** Default: silent. */
  logger?: Logger;
}

/** The mock provider: a `Provider`, plus `close` to stop its tasks and write its state file. */
export type MockProvider = Provider & { close(): Promise<void> };

const defaultTemplates = ["debian-12", "ubuntu-24.04"];

/** Large enough that a 2 MiB chunk of it is all zeros (see disk-content.ts). */
const defaultDiskBytes = 8 * 1024 * 1024;

/**
 * The reference provider over `ctx`: a table of operations, one file each.
 * Every RPC, every capability, an in-memory inventory.
 */
function createReferenceProvider(ctx: MockContext): CompleteMockProvider {
  /** The provider method of an operation: the call's signal goes on to it. */
  const method = operationBinder(ctx);
  return {
    validate: method(validate),
    getCapabilities: () => Promise.resolve({ capabilities: ctx.capabilities }),
    create: method(createVm),
    delete: method(deleteVm),
    power: method(power),
    reconfigure: method(reconfigure),
    describe: method(describe),
    listVMs: method(listVms),
    getTask: method(getTask),
    snapshotCreate: method(snapshotCreate),
    snapshotRevert: method(snapshotRevert),
    snapshotDelete: method(snapshotDelete),
    snapshotList: method(snapshotList),
    clone: method(cloneVm),
    imagePrepare: method(imagePrepare),
    setCredentials: method(setCredentials),
    describeDisks: method(describeDisks),
    diskExportBegin: method(diskExportBegin),
    diskExportRead: method(diskExportRead),
    diskExportEnd: method(diskExportEnd),
    diskImportBegin: method(diskImportBegin),
    diskImportWrite: method(diskImportWrite),
    diskImportCommit: method(diskImportCommit),
    diskImportAbort: method(diskImportAbort),
    console: serialConsole(ctx),
    async close() {
      await ctx.tasks.close();
      ctx.store.flush();
    },
  };
}

/**
 * Creates the reference provider: every RPC, every capability, an in-memory
 * inventory (optionally persisted), tasks that take `latencyMs`, and seeded
 * fault injection (with-faults.ts) around it.
 *
 * @throws Error when the seed inventory or a fault rule is invalid.
 */
export function createMockProvider(options: MockProviderOptions = {}): MockProvider {
  if (options.inventory) checkSeedInventory(options.inventory);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: "silent" });
  const faults = options.faults?.length
    ? createFaultInjector({ seed: options.seed ?? 1, faults: options.faults }, clock)
    : undefined;
  const ctx = createMockContext({
    store: new MockStore(options.stateFile, logger),
    disks: new DiskStore(
      options.diskMemoryBytes ?? 1024 ** 3,
      options.diskBytes ?? defaultDiskBytes,
      options.guestWriteBytes ?? 0,
    ),
    tasks: createTaskTracker({
      clock,
      onInternalError: (taskId, error) =>
        logger.error({ taskId, err: error.cause ?? error }, "task failed"),
    }),
    clock,
    logger,
    world: faults ? faultyWorld(faults) : honestWorld,
    latencyMs: options.latencyMs ?? 0,
    capabilities: mockCapabilities(options.disable ?? []),
    templates: new Set(options.inventory?.templates ?? defaultTemplates),
    random: createPrng((options.seed ?? 1) ^ 0x5eed),
  });
  seedVms(ctx, options.inventory);
  const reference = createReferenceProvider(ctx);
  return faults ? withFaults(reference, ctx, faults) : reference;
}
