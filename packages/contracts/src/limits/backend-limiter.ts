import type { Clock } from "../clock.js";
import { createConcurrencyLimiter } from "./concurrency-limiter.js";
import { createRateLimiter } from "./rate-limiter.js";

/** Options of the limiter a provider puts in front of its backend. */
export interface BackendLimiterOptions {
  /** Calls per second toward the backend. Unset means no rate limit. */
  qps?: number | undefined;
  /** Calls allowed at once after a quiet period. Default: `max(1, ceil(qps))`. */
  burst?: number | undefined;
  /** Calls in flight toward the backend at once. Unset means no limit. */
  concurrency?: number | undefined;
  clock?: Clock;
}

/** Guards a backend: every call waits for a rate token and a concurrency slot. */
export interface BackendLimiter {
  /** Runs `work` once the limits allow it; aborts the wait when `signal` does. */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * Creates the limiter providers use toward their backend (a hypervisor API,
 * an SSH connection), so a burst of RPCs cannot overload it.
 *
 * @throws RangeError when a limit is not positive.
 */
export function createBackendLimiter(options: BackendLimiterOptions): BackendLimiter {
  const rate =
    options.qps === undefined
      ? undefined
      : createRateLimiter({
          qps: options.qps,
          ...(options.burst === undefined ? {} : { burst: options.burst }),
          ...(options.clock ? { clock: options.clock } : {}),
        });
  const slots =
    options.concurrency === undefined ? undefined : createConcurrencyLimiter(options.concurrency);
  return {
    async run(work, signal) {
      if (rate) await rate.acquire(signal);
      return slots ? slots.run(work, signal) : work();
    },
  };
}
