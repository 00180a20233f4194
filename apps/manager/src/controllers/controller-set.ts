import { trace } from "@opentelemetry/api";
import type { Logger } from "@virtrigaud/contracts";
import { kindInfo, kinds } from "../manifest/kinds.js";
import type { SecretAccess } from "../secrets/secret-access.js";
import { fencedStore } from "../store/fenced-store.js";
import type { Fence, ResourceStore } from "../store/store.js";
import { createCloneController } from "./clone-controller.js";
import {
  type ControllerContext,
  type ControllerSettings,
  type Queues,
  eventRecorder,
} from "./context.js";
import { createImageController } from "./image-controller.js";
import { createMigrationController } from "./migration-controller.js";
import { createProviderController } from "./provider-controller.js";
import type { ProviderConnection } from "./provider-connection.js";
import { createRouter } from "./router.js";
import { createSnapshotController } from "./snapshot-controller.js";
import { createUsageController } from "./usage-controller.js";
import { createVmController } from "./vm-controller.js";
import { type WorkQueue, type WorkQueueOptions, createWorkQueue } from "./work-queue.js";

/** What the controllers share with the rest of the manager, across their runs. */
export interface ControllerSetOptions {
  store: ResourceStore;
  logger: Logger;
  settings: ControllerSettings;
  /** Filled with this run's queues, for metrics. */
  queues: Queues;
  /** Filled with this run's provider connections, for metrics and tests. */
  connections: Map<string, ProviderConnection>;
  vmWorkers: number;
  providerCall: ControllerContext["providerCall"];
  reconciled(kind: string, outcome: string, seconds: number): void;
  /** The term this run acts in, where several managers share the store. */
  fence?: Fence;
  /** Opens Secrets. */
  secrets: SecretAccess;
}

/** One run of the controllers: from a start (or the start of a term) to its stop. */
export interface ControllerSet {
  /**
   * Stops taking work and waits for reconciles in flight, then closes the
   * provider connections; with `cutAfterMs`, closes them that much later
   * at the most, which ends calls still running.
   */
  stop(cutAfterMs?: number): Promise<void>;
}

/**
 * Starts the controllers: their queues, the router that feeds them from the
 * store's changes, and one reconcile of everything stored, in dependency
 * order, so work a previous run (or leader) left half done is finished.
 */
export function startControllers(options: ControllerSetOptions): ControllerSet {
  const { logger, queues } = options;
  const store = options.fence ? fencedStore(options.store, options.fence) : options.store;
  const ctx: ControllerContext = {
    store,
    logger,
    settings: options.settings,
    queues,
    connections: options.connections,
    taskOutcomes: new Map(),
    now: Date.now,
    event: eventRecorder(store),
    providerCall: options.providerCall,
    secrets: options.secrets,
    ...(options.fence ? { fence: options.fence } : {}),
  };
  const providers = createProviderController(ctx);
  const vms = createVmController(ctx);
  const snapshots = createSnapshotController(ctx);
  const clones = createCloneController(ctx);
  const migrations = createMigrationController(ctx);
  const images = createImageController(ctx);
  const usage = createUsageController(ctx);
  const tracer = trace.getTracer("@virtrigaud/manager");
  /** A queue of resources of one kind (or, for usage, of the kind its keys name). */
  const queue = (
    name: keyof Queues,
    kind: string | ((key: string) => string),
    workers: number,
    reconcile: WorkQueueOptions["reconcile"],
  ) =>
    createWorkQueue({
      name,
      workers,
      reconcile,
      logger,
      tracer,
      onReconciled: (key, outcome, seconds) =>
        options.reconciled(typeof kind === "string" ? kind : kind(key), outcome, seconds),
    });
  queues.provider = queue("provider", "Provider", 8, providers.reconcile);
  queues.vm = queue("vm", "VirtualMachine", options.vmWorkers, vms.reconcile);
  queues.snapshot = queue("snapshot", "VMSnapshot", 16, snapshots.reconcile);
  queues.clone = queue("clone", "VMClone", 8, clones.reconcile);
  queues.migration = queue("migration", "VMMigration", 4, migrations.reconcile);
  queues.image = queue("image", "VMImage", 4, images.reconcile);
  // Usage keys are "Kind/namespace/name" of a VMClass or VMNetworkAttachment.
  queues.usage = queue(
    "usage",
    (key) => kindInfo(Number(key.slice(0, key.indexOf("/")))).name,
    2,
    usage.reconcile,
  );

  const route = createRouter(ctx);
  const unsubscribe = store.subscribe(route);
  for (const { kind } of kinds) {
    for (const message of store.list(kind)) route({ type: 1, kind, message, resourceVersion: 0 });
  }

  let stopping: Promise<void> | undefined;
  return {
    stop: (cutAfterMs) =>
      (stopping ??= (async () => {
        unsubscribe();
        const drained = Promise.all(
          (Object.values(queues) as WorkQueue[]).map((q) => q.shutdown()),
        );
        if (cutAfterMs !== undefined)
          await Promise.race([drained, new Promise((r) => setTimeout(r, cutAfterMs).unref())]);
        else await drained;
        providers.close();
        migrations.close();
        await drained;
      })()),
  };
}
