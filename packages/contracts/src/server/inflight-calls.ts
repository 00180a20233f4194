/** Counts calls in flight, so a drain knows when the last one is done. */
export interface InflightCalls {
  enter(): void;
  leave(): void;
  readonly count: number;
  /** True once a drain has begun: calls that arrive now are refused. */
  readonly draining: boolean;
  /** Begins the drain. */
  drain(): void;
  /** Resolves when no call is in flight. */
  idle(): Promise<void>;
}

export function createInflightCalls(): InflightCalls {
  let count = 0;
  let draining = false;
  let waiters: Array<() => void> = [];
  return {
    get count() {
      return count;
    },
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
    },
    enter() {
      count++;
    },
    leave() {
      count--;
      if (count === 0 && waiters.length) {
        const wake = waiters;
        waiters = [];
        for (const w of wake) w();
      }
    },
    idle() {
      return count === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
  };
}
