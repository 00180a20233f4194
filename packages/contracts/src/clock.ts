import { setTimeout as delay } from "node:timers/promises";
import { abortReason } from "./abort.js";

/**
 * Time as the SDK sees it. Task trackers, limiters, retries and providers
 * take a Clock so tests can drive time with `createFakeClock` instead of
 * sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds. Rejects with the signal's reason when
   * the signal aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    if (signal?.aborted) throw abortReason(signal);
    try {
      await delay(ms, undefined, signal ? { signal } : undefined);
    } catch (err) {
      throw signal?.aborted ? abortReason(signal) : err;
    }
  },
};
