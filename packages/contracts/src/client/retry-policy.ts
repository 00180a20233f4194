import { type Clock, systemClock } from "../clock.js";
import { callerAbortError } from "../abort.js";
import { ProviderError } from "../errors/provider-error.js";

/** When and how a client repeats a failed call. */
export interface RetryOptions {
  /** Attempts in all, the first included. Default: 4. */
  maxAttempts?: number;
  /** The ceiling of the first backoff. Default: 100 ms. */
  initialBackoffMs?: number;
  /** The largest backoff ceiling. Default: 5000 ms. */
  maxBackoffMs?: number;
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not
 * retryable (only RETRYABLE, UNAVAILABLE and RESOURCE_EXHAUSTED are), runs
 * out of attempts, or would outlive the deadline. Backoff is "full jitter":
 * a random wait below a ceiling that doubles each time, never shorter than
 * the server's retry_after. Every failure is rethrown as a ProviderError.
 *
 * @param attempt receives the time left before the deadline, if there is one.
 */
export async function withRetries<T>(
  attempt: (remainingMs: number | undefined) => Promise<T>,
  options: {
    retry: RetryOptions | false;
    timeoutMs: number | undefined;
    signal: AbortSignal | undefined;
    clock?: Clock;
    random?: () => number;
  },
): Promise<T> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const retry = options.retry === false ? { maxAttempts: 1 } : options.retry;
  const maxAttempts = retry.maxAttempts ?? 4;
  const initial = retry.initialBackoffMs ?? 100;
  const max = retry.maxBackoffMs ?? 5000;
  const deadline = options.timeoutMs === undefined ? undefined : clock.now() + options.timeoutMs;

  for (let n = 1; ; n++) {
    const remaining = deadline === undefined ? undefined : deadline - clock.now();
    try {
      return await attempt(remaining);
    } catch (thrown) {
      if (options.signal?.aborted) throw callerAbortError(options.signal);
      const error = ProviderError.from(thrown);
      if (!error.retryable || n >= maxAttempts) throw error;
      const ceiling = Math.min(max, initial * 2 ** (n - 1));
      const wait = Math.max(error.retryAfterMs ?? 0, Math.floor(random() * ceiling));
      if (deadline !== undefined && clock.now() + wait >= deadline) throw error;
      await clock.sleep(wait, options.signal).catch((aborted: unknown) => {
        throw options.signal?.aborted ? callerAbortError(options.signal) : aborted;
      });
    }
  }
}
