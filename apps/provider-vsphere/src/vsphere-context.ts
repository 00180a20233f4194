import {
  type Logger,
  type ProviderMethodName,
  type ProviderOperation,
  type TaskRef,
  type TaskTracker,
  type CreateOnce,
  type KeyedLock,
  createBackendLimiter,
  createKeyedLock,
  createOnceByName,
  createLogger,
  createTaskTracker,
  systemClock,
} from "@virtrigaud/contracts";
import {
  type ContainerView,
  type Finder,
  type ManagedObjectReference,
  type TaskInfo,
  type VimClient,
  createFinder,
  waitForTask,
} from "@virtrigaud/vsphere-sdk";
import { type DiskStaging, createDiskStaging, defaultStagingDir } from "./disk-staging.js";
import { toProviderError } from "./errors.js";
import { providerTaskPrefix } from "./ids.js";
import type { PlacementDefaults } from "./placement.js";
import type { ConsoleInfo } from "./vm-properties.js";
import type { VsphereProviderOptions } from "./vsphere-provider-options.js";

/** Where a step's vSphere task progress goes in its provider task: scaled into [from, to]. */
interface StepProgress {
  report: (percent: number) => void;
  from: number;
  to: number;
}

/**
 * What every operation of the provider works with, made once per provider:
 * the vim25 client and finder, the limits toward vCenter, the provider's own
 * tasks, its settings, and what it remembers between calls.
 */
export interface VsphereContext {
  readonly client: VimClient;
  readonly finder: Finder;
  readonly logger: Logger;
  /** The provider's own tasks ("vrtg-<uuid>"), for operations of several vSphere tasks. */
  readonly tasks: TaskTracker;
  readonly defaults: PlacementDefaults;
  readonly hotAdd: boolean;
  readonly shutdownTimeoutSeconds: number;
  /** host[:port] of vCenter in console URLs. */
  readonly consoleHost: string;

  /** Instance UUID to VM reference; refreshed when a reference goes stale. */
  readonly refs: Map<string, ManagedObjectReference>;
  /** Distributed port group names by key. */
  readonly portgroupNames: Map<string, string>;
  /** Creates, clones and image copies under way, by name: one of each name at a time. */
  readonly creations: CreateOnce<{ vmId: string; task?: TaskRef }>;
  /** One change at a time per VM, by VM id. */
  readonly perVm: KeyedLock;
  /** The ids of the VMs being created or cloned. */
  readonly creatingIds: Set<string>;
  /** Snapshot tasks under way, by "<vm id>/<snapshot name>". */
  readonly snapshotting: Map<string, TaskRef>;
  /** Where disk exports and imports keep their records and received bytes. */
  readonly staging: DiskStaging;
  /** Export checksums and import commits under way, by "export/<id>" or "import/<id>". */
  readonly diskTasks: Map<string, TaskRef>;
  /** What is read from vCenter once and kept. */
  readonly cache: {
    /** The container view ListVMs reads, one per session (views die with their session). */
    view: { generation: number; view: ContainerView } | undefined;
    console: ConsoleInfo | undefined;
  };

  /** Calls vCenter within the limits, and maps its failures (`toProviderError`). */
  call<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T>;
  /** Runs a provider task; its work gets the task's signal and a progress reporter. */
  startTask(
    description: string,
    work: (signal: AbortSignal, progress: (percent: number) => void) => Promise<void>,
  ): TaskRef;
  /**
   * Starts a vSphere task and waits for it by property updates, inside a
   * provider task, reporting its progress scaled into [from, to].
   */
  step(
    signal: AbortSignal,
    start: () => Promise<ManagedObjectReference>,
    progress?: StepProgress,
  ): Promise<TaskInfo>;
}

/**
 * A provider method as this provider's modules implement it: given the
 * provider's context, the request and the call's signal.
 */
export type VsphereOperation<M extends ProviderMethodName> = ProviderOperation<VsphereContext, M>;

/** Creates the context of a provider from its options. */
export function createVsphereContext(options: VsphereProviderOptions): VsphereContext {
  const { client } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: "silent" });
  const limiter = createBackendLimiter({ concurrency: 8, ...options.limits, clock });
  const tasks = createTaskTracker({
    clock,
    idPrefix: providerTaskPrefix,
    onInternalError: (taskId, error) =>
      logger.error({ taskId, err: error.cause ?? error }, "task failed"),
  });

  const call = <T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> =>
    limiter.run(work, signal).catch((err: unknown) => {
      throw toProviderError(err);
    });

  return {
    client,
    finder: createFinder(client, { datacenter: options.datacenter }),
    logger,
    tasks,
    defaults: options.defaults ?? {},
    hotAdd: options.hotAdd ?? true,
    shutdownTimeoutSeconds: options.shutdownTimeoutSeconds ?? 300,
    consoleHost: options.consoleHost ?? client.url.host,
    refs: new Map(),
    portgroupNames: new Map(),
    creations: createOnceByName(),
    perVm: createKeyedLock(),
    creatingIds: new Set(),
    snapshotting: new Map(),
    staging: createDiskStaging(options.diskStagingDir ?? defaultStagingDir),
    diskTasks: new Map(),
    cache: { view: undefined, console: undefined },
    call,

    startTask(description, work) {
      return tasks.start(description, (control) =>
        work(control.signal, (p) => control.progress(p)),
      );
    },

    async step(signal, start, progress) {
      const task = await call(signal, start);
      return call(signal, () =>
        waitForTask(client, task, {
          signal,
          ...(progress
            ? {
                onProgress: (p: number) =>
                  progress.report(progress.from + ((progress.to - progress.from) * p) / 100),
              }
            : {}),
        }),
      );
    },
  };
}
