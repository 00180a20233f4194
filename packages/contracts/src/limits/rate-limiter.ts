import { type Clock, systemClock } from "../clock.js";

/** Options of a token-bucket rate limiter. */
export interface RateLimiterOptions {
  /** Sustained rate, in operations per second. */
  qps: number;
  /** Operations allowed at once after a quiet period. Default: `max(1, ceil(qps))`. */
  burst?: number;
  clock?: Clock;
}

/** A token bucket: `qps` operations per second on average, `burst` at once. */
export interface RateLimiter {
  /**
   * Takes a token if one is available and returns 0; otherwise takes
   * nothing and returns the milliseconds until one will be.
   */
  tryAcquire(): number;
  /** Waits for a token. Rejects with the signal's reason when it aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
}

/**
 * Creates a token-bucket rate limiter.
 *
 * @throws RangeError when qps or burst is not a positive number.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { qps, clock = systemClock } = options;
  const burst = options.burst ?? Math.max(1, Math.ceil(qps));
  if (!(qps > 0) || !Number.isFinite(qps)) throw new RangeError(`qps must be positive, got ${qps}`);
  if (!(burst >= 1)) throw new RangeError(`burst must be at least 1, got ${burst}`);
  let tokens = burst;
  let updated = clock.now();
  // Waiters reserve tokens in arrival order by driving the balance negative.
  const refill = () => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - updated) * qps) / 1000);
    updated = now;
  };
  const msUntil = (balance: number) => Math.ceil(((1 - balance) * 1000) / qps);

  return {
    tryAcquire() {
      refill();
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return msUntil(tokens);
    },
    async acquire(signal) {
      signal?.throwIfAborted();
      refill();
      tokens -= 1;
      if (tokens >= 0) return;
      const wait = Math.ceil((-tokens * 1000) / qps);
      try {
        await clock.sleep(wait, signal);
      } catch (err) {
        tokens += 1; // give the reservation back
        throw err;
      }
    },
  };
}
