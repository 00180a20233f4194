import { setTimeout as sleep } from "node:timers/promises";

/** How often vrtg asks the manager again while it waits for a state. */
const pollIntervalMs = 250;

/**
 * Reads until `done` accepts what was read, or until `timeoutMs` has passed
 * (one read is always made, and one more after the deadline is not).
 *
 * @returns the accepted read, or undefined when time ran out first.
 * @throws whatever `read` throws.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  intervalMs = pollIntervalMs,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(intervalMs);
  }
}
