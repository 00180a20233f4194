/** A count of the event loop's turns, for tests of work that must share them. */
export interface TurnCounter {
  /** Turns begun since the counter started. */
  readonly now: number;
  /** Stops counting (the counter keeps the loop turning until then). */
  readonly stop: () => void;
}

/**
 * Counts turns of the event loop: an immediate that re-queues itself runs
 * once per turn. Work that records `now` as it runs shows how many turns it
 * was spread over.
 */
export function countTurns(): TurnCounter {
  let turns = 0;
  let counting = true;
  const tick = () => {
    turns++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get now() {
      return turns;
    },
    stop: () => (counting = false),
  };
}

/** Keeps the thread busy for `ms`, as CPU-bound work does. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Resolves two turns of the event loop later, clear of what the turn it was called in began. */
export function freshTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
