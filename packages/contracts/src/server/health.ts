import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type Health,
} from "@virtrigaud/proto/health";
import { untilAborted } from "../abort.js";
import { quote } from "../clip.js";
import { ProviderError } from "../errors/provider-error.js";
import type { Logger } from "../logging/create-logger.js";

export { ServingStatus };

/** Options of the health monitor. */
export interface HealthMonitorOptions {
  /** Succeeds when the provider can do its work: the provider's Validate. */
  probe: (signal: AbortSignal) => Promise<unknown>;
  /** Time between probes. */
  intervalMs: number;
  /** How long a probe may take before it counts as failed. */
  timeoutMs: number;
  logger: Logger;
}

/** The serving status of the provider, kept current by probing Validate. */
export interface HealthMonitor {
  readonly status: ServingStatus;
  /** Why the last probe failed, when it did. */
  readonly reason: string | undefined;
  /** Probes now (joining a probe already running) and returns the new status. */
  refresh(): Promise<ServingStatus>;
  /** Starts probing every interval. */
  start(): void;
  /** Reports NOT_SERVING from now on, whatever the probes say: the server is draining. */
  drain(): void;
  /** Stops probing and ends every Watch stream. */
  stop(): void;
  /** The status now and each change after it, until `signal` aborts or the monitor stops. */
  watch(signal: AbortSignal): AsyncIterable<ServingStatus>;
}

/** Creates a health monitor; its status is NOT_SERVING until the first probe passes. */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  let status = ServingStatus.NOT_SERVING;
  let reason: string | undefined = "not probed yet";
  let draining = false;
  let running: Promise<ServingStatus> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stopped = new AbortController();
  const listeners = new Set<() => void>();

  const set = (next: ServingStatus, why: string | undefined) => {
    reason = why;
    if (next === status) return;
    options.logger.info({ status: ServingStatus[next], reason: why }, "health changed");
    status = next;
    for (const notify of listeners) notify();
  };

  const probe = async (): Promise<ServingStatus> => {
    try {
      // Bounded even when the provider ignores the signal: a stuck Validate
      // must not stop the monitor from probing again.
      const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), stopped.signal]);
      await untilAborted(options.probe(signal), signal);
      if (!draining) set(ServingStatus.SERVING, undefined);
    } catch (thrown) {
      if (!draining) set(ServingStatus.NOT_SERVING, ProviderError.from(thrown).message);
    }
    return status;
  };

  const schedule = () => {
    if (stopped.signal.aborted) return;
    timer = setTimeout(() => void monitor.refresh().finally(schedule), options.intervalMs);
    timer.unref();
  };

  const monitor: HealthMonitor = {
    get status() {
      return status;
    },
    get reason() {
      return reason;
    },
    refresh() {
      if (draining) return Promise.resolve(status);
      running ??= probe().finally(() => (running = undefined));
      return running;
    },
    start() {
      void monitor.refresh().finally(schedule);
    },
    drain() {
      draining = true;
      set(ServingStatus.NOT_SERVING, "the server is draining");
    },
    stop() {
      clearTimeout(timer);
      stopped.abort();
      for (const notify of listeners) notify();
    },
    async *watch(signal) {
      let changed: (() => void) | undefined;
      const notify = () => changed?.();
      listeners.add(notify);
      const onAbort = () => changed?.();
      signal.addEventListener("abort", onAbort);
      try {
        let last: ServingStatus | undefined;
        while (!signal.aborted && !stopped.signal.aborted) {
          if (status !== last) {
            last = status;
            yield status;
          }
          await new Promise<void>((resolve) => (changed = resolve));
        }
      } finally {
        listeners.delete(notify);
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
  return monitor;
}

/**
 * The grpc.health.v1.Health service, backed by a health monitor, reporting
 * on the server as a whole ("") and on each of `serviceNames`.
 */
export function createHealthService(
  monitor: HealthMonitor,
  serviceNames: readonly string[],
): ServiceImpl<typeof Health> {
  const knownServices = new Set(["", ...serviceNames]);
  return {
    check(request) {
      if (!knownServices.has(request.service)) {
        throw new ConnectError(`unknown service ${quote(request.service, 100)}`, Code.NotFound);
      }
      return { status: monitor.status };
    },
    async *watch(request, context) {
      if (!knownServices.has(request.service)) {
        yield { status: ServingStatus.SERVICE_UNKNOWN };
        return;
      }
      for await (const status of monitor.watch(context.signal)) yield { status };
    },
  };
}
