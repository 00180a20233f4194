import { abortReason } from "../abort.js";
import type { Clock } from "../clock.js";

/** A Clock whose time moves only when a test says so. */
export interface FakeClock extends Clock {
  /**
   * Moves time forward by `ms`, waking every sleeper whose time has come, in
   * order, and letting the work each one wakes run before the next.
   */
  advance(ms: number): Promise<void>;
  /** How many sleepers are waiting. */
  readonly pending: number;
}

interface Sleeper {
  due: number;
  seq: number;
  wake: () => void;
}

/** Lets promise chains started by a wake-up settle before time moves on. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Creates a fake clock starting at `startMs` (default: 2026-01-01T00:00:00Z). */
export function createFakeClock(startMs = Date.UTC(2026, 0, 1)): FakeClock {
  let now = startMs;
  let seq = 0;
  const sleepers: Sleeper[] = [];

  const remove = (sleeper: Sleeper) => {
    const i = sleepers.indexOf(sleeper);
    if (i >= 0) sleepers.splice(i, 1);
  };

  return {
    now: () => now,
    get pending() {
      return sleepers.length;
    },
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          remove(sleeper);
          reject(abortReason(signal));
        };
        const sleeper: Sleeper = {
          due: now + Math.max(0, ms),
          seq: seq++,
          wake: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        sleepers.push(sleeper);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (;;) {
        let next: Sleeper | undefined;
        for (const s of sleepers) {
          if (
            s.due <= target &&
            (!next || s.due < next.due || (s.due === next.due && s.seq < next.seq))
          ) {
            next = s;
          }
        }
        if (!next) break;
        remove(next);
        now = Math.max(now, next.due);
        next.wake();
        await settle();
      }
      now = target;
    },
  };
}
