/**
 * How long work that shares the event loop may run in one turn of it before
 * what comes next waits for a later turn.
 *
 * Node (libuv since 1.45) accepts one new connection per turn of the event
 * loop, and a busy server's turns grow long: everything that became ready
 * while one turn ran runs in the next, promise continuations included. A
 * manager converging 1,000 VMs under 100 fast-reading watches ran turns of
 * 40 to 300 ms, and a client that connected behind a burst of 100 other
 * connections waited 4 to 6 s to be accepted. Work that no caller waits on
 * at that moment (a stream's next messages, the manager's reconciles and
 * what they do with a provider's answers) asks `shareTurn` before it runs:
 * past the budget it runs in a later turn, after that turn's I/O, in the
 * order it asked. Calls are not held back: a call that arrives starts at
 * once, ahead of the work that waits.
 */
export const turnBudgetMs = 5;

/** When this turn's budget began; undefined until work asks in it. */
let turnStartedAt: number | undefined;

/** True when work has run for `turnBudgetMs` in this turn of the event loop. */
function turnSpent(): boolean {
  const now = performance.now();
  if (turnStartedAt === undefined) {
    turnStartedAt = now;
    // Queued before any waiter of this turn, so it runs first in the next.
    setImmediate(() => (turnStartedAt = undefined));
    return false;
  }
  return now - turnStartedAt > turnBudgetMs;
}

/**
 * Undefined while this turn of the event loop has budget left; otherwise a
 * promise that resolves in a later turn that has, after that turn's I/O.
 * Callers await it only when given one, so work within budget goes on
 * without a promise hop.
 */
export function shareTurn(): Promise<void> | undefined {
  if (!turnSpent()) return undefined;
  return new Promise((resolve) => {
    const retry = () => (turnSpent() ? setImmediate(retry) : resolve());
    setImmediate(retry);
  });
}
