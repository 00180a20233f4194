import type { Client } from "@connectrpc/connect";
import type { ManagerService } from "@virtrigaud/proto/manager";
import { vmManifest } from "./fleet-stack.js";

/** What a run of updates achieved. */
export interface UpdateRun {
  applied: number;
  seconds: number;
}

/**
 * Changes a label of one VM every 1/`rate` s for `seconds`, going round the
 * `n` VMs, each change one Apply (one MODIFIED event for every watcher).
 * Bounded: it stops by itself when the time is up and waits for what is in
 * flight.
 */
export async function applyLabelUpdates(
  client: Client<typeof ManagerService>,
  n: number,
  rate: number,
  seconds: number,
): Promise<UpdateRun> {
  const started = performance.now();
  const intervalMs = 1000 / rate;
  const inFlight = new Set<Promise<unknown>>();
  let applied = 0;
  for (let k = 0; k < rate * seconds; k++) {
    const due = started + k * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const call = client
      .apply({ resource: vmManifest(k % n, { "bench/tick": String(k) }) })
      .then(() => applied++);
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
  }
  await Promise.all(inFlight);
  return { applied, seconds: (performance.now() - started) / 1000 };
}
