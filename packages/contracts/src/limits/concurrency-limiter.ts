import { abortReason } from "../abort.js";

/** Runs at most `limit` operations at once; the rest wait in arrival order. */
export interface ConcurrencyLimiter {
  /**
   * Runs `work` when a slot is free. Rejects with the signal's reason, without
   * running `work`, when the signal aborts while waiting.
   */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Operations running now. */
  readonly active: number;
  /** Operations waiting for a slot. */
  readonly waiting: number;
}

/**
 * Creates a concurrency limiter.
 *
 * @throws RangeError when limit is not a positive integer.
 */
export function createConcurrencyLimiter(limit: number): ConcurrencyLimiter {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  let active = 0;
  const queue: Array<() => void> = [];

  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active--;
  };

  const slot = (signal?: AbortSignal): Promise<void> => {
    if (active < limit) {
      active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
        reject(abortReason(signal));
      };
      queue.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  };

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    async run(work, signal) {
      signal?.throwIfAborted();
      await slot(signal);
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}
