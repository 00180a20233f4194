import { trace } from "@opentelemetry/api";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import {
  type Logger,
  ServeConfigError,
  type ServeOptions,
  createLogger,
} from "@virtrigaud/contracts";
import {
  type ServerMetrics,
  type ServicesServer,
  compileServeOptions,
  createServerMetrics,
  serveServices,
  servedService,
} from "@virtrigaud/contracts/server";
import { ManagerService } from "@virtrigaud/proto/manager";
import { createManagerService } from "./api/manager-service.js";
import { createCloneController } from "./controllers/clone-controller.js";
import {
  type ControllerContext,
  type ControllerSettings,
  type Queues,
  eventRecorder,
} from "./controllers/context.js";
import { createImageController } from "./controllers/image-controller.js";
import { createProviderController } from "./controllers/provider-controller.js";
import type { ProviderConnection } from "./controllers/provider-connection.js";
import { createRouter } from "./controllers/router.js";
import { createSnapshotController } from "./controllers/snapshot-controller.js";
import { createUsageController } from "./controllers/usage-controller.js";
import { createVmController } from "./controllers/vm-controller.js";
import {
  type WorkQueue,
  type WorkQueueOptions,
  createWorkQueue,
} from "./controllers/work-queue.js";
import { kindInfo, kinds } from "./manifest/kinds.js";
import { createManagerMetrics } from "./metrics/manager-metrics.js";
import { type ResourceStore, openResourceStore } from "./store/resource-store.js";

/** Options of `startManager`. */
export interface ManagerOptions {
  /** The directory of the store's file, manager.db. */
  dataDir: string;
  /** Default: a JSON logger at info. */
  logger?: Logger;
  /** Serve the API with these options; without them, controllers only. */
  serve?: ServeOptions;
  /** Default: 10000 ms. */
  healthIntervalMs?: number;
  /** Default: 5000 ms. */
  driftPageIntervalMs?: number;
  /** Default: 1000 ms. */
  minProbeIntervalMs?: number;
  /** Default: 30000 ms. */
  maxProbeIntervalMs?: number;
  /** VirtualMachine reconciles at once. Default: 256. */
  vmWorkers?: number;
  /**
   * What one Watch may hold for a client that reads slower than changes
   * come (see `WatchOptions`). Defaults: 10000 changes, 16 MiB.
   */
  watch?: { maxPendingEvents?: number; maxPendingBytes?: number };
  /**
   * Where the manager's instruments go; served on /metrics when serving.
   * Default: `createServerMetrics` of the service's name.
   */
  metrics?: ServerMetrics;
}

/** A running manager. */
export interface Manager {
  store: ResourceStore;
  /** The API server, when serving. */
  server: ServicesServer | undefined;
  /** Provider connections, by "namespace/name" (RPC counts live in them). */
  connections: Map<string, ProviderConnection>;
  /** The manager's metrics (served on the ops listener's /metrics). */
  metrics: ServerMetrics;
  /** Stops the API (drain), the controllers and the store. */
  close(): Promise<void>;
}

/**
 * Starts the manager: opens the store in `dataDir`, starts the controllers
 * (every stored resource is reconciled once at start, so work a previous run
 * left half done is finished), and serves the ManagerService when `serve`
 * is given.
 *
 * @throws Error when the store cannot be opened (StoreInUseError when
 * another manager has it); ServeConfigError for bad serve options, before
 * the store is made.
 */
export async function startManager(options: ManagerOptions): Promise<Manager> {
  const logger = options.logger ?? createLogger({ name: "virtrigaud-manager" });
  // Every setting is checked before anything is made on disk.
  if (options.serve) checkServeOptions(options.serve);
  const store = openResourceStore(options.dataDir);
  const settings: ControllerSettings = {
    healthIntervalMs: options.healthIntervalMs ?? 10_000,
    driftPageIntervalMs: options.driftPageIntervalMs ?? 5_000,
    minProbeIntervalMs: options.minProbeIntervalMs ?? 1_000,
    maxProbeIntervalMs: options.maxProbeIntervalMs ?? 30_000,
  };
  const serviceName = options.serve?.serviceName ?? "virtrigaud-manager";
  const metrics = options.metrics ?? createServerMetrics({ serviceName });
  const queues = {} as Queues;
  const connections = new Map<string, ProviderConnection>();
  const openWatches = { count: 0 };
  const instruments = createManagerMetrics(metrics.meter("@virtrigaud/manager"), {
    store,
    queues: () => new Map(Object.entries(queues)),
    connections,
    watches: () => openWatches.count,
  });
  const ctx: ControllerContext = {
    store,
    logger,
    settings,
    queues,
    connections,
    taskOutcomes: new Map(),
    now: Date.now,
    event: eventRecorder(store),
    providerCall: instruments.providerCall,
  };
  const providers = createProviderController(ctx);
  const vms = createVmController(ctx);
  const snapshots = createSnapshotController(ctx);
  const clones = createCloneController(ctx);
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
        instruments.reconciled(typeof kind === "string" ? kind : kind(key), outcome, seconds),
    });
  queues.provider = queue("provider", "Provider", 8, providers.reconcile);
  queues.vm = queue("vm", "VirtualMachine", options.vmWorkers ?? 256, vms.reconcile);
  queues.snapshot = queue("snapshot", "VMSnapshot", 16, snapshots.reconcile);
  queues.clone = queue("clone", "VMClone", 8, clones.reconcile);
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
  // Everything stored is reconciled once, in dependency order: finish what a previous run began.
  for (const { kind } of kinds) {
    for (const message of store.list(kind)) route({ type: 1, kind, message, resourceVersion: 0 });
  }
  logger.info({ dataDir: options.dataDir, resourceVersion: store.resourceVersion }, "store opened");

  let server: ServicesServer | undefined;
  // Watches never end by themselves: a drain (SIGTERM, or close) ends them first.
  const stopWatches = new AbortController();
  if (options.serve) {
    server = await serveServices({
      ...options.serve,
      logger,
      serviceName,
      role: "manager",
      readiness: () => Promise.resolve(),
      metrics,
      // A drain stops the controllers too, beside the API, so their work in
      // flight ends within the same drain timeout.
      onDrain: () => {
        stopWatches.abort();
        void stopControllers();
      },
      services: [
        servedService(
          ManagerService,
          createManagerService(store, {
            ...options.watch,
            shutdown: stopWatches.signal,
            openWatches,
            logger,
          }),
        ),
      ],
      describe: { dataDir: options.dataDir },
    });
  }

  let controllersStopped: Promise<unknown> | undefined;
  const stopControllers = () =>
    (controllersStopped ??= Promise.all(
      (Object.values(queues) as WorkQueue[]).map((q) => q.shutdown()),
    ));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopWatches.abort();
      await server?.close();
      unsubscribe();
      // Reconciles still running after the drain are cut short: closing the
      // provider connections ends their calls.
      const stopping = stopControllers();
      if (!server) await stopping;
      else await Promise.race([stopping, new Promise((r) => setTimeout(r, 500).unref())]);
      providers.close();
      await stopping;
      store.close();
      await metrics.shutdown();
    })());
  return { store, server, connections, metrics, close };
}

/**
 * Checks the serve options as `serveServices` will, TLS files included.
 *
 * @throws ServeConfigError naming what is wrong.
 */
function checkServeOptions(serve: ServeOptions): void {
  compileServeOptions(serve);
  if (!serve.tls) return;
  try {
    createSecureContext({
      cert: readFileSync(serve.tls.certFile),
      key: readFileSync(serve.tls.keyFile),
      ...(serve.tls.clientCaFile ? { ca: readFileSync(serve.tls.clientCaFile) } : {}),
    });
  } catch (err) {
    throw new ServeConfigError(`the TLS files do not load: ${(err as Error).message}`);
  }
}
