import type { Client } from "@connectrpc/connect";
import type { ManagerService } from "@virtrigaud/proto/manager";
import { vmManifest } from "@virtrigaud/bench-manager/dist/fleet.js";

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
  // Every change is sent on time whatever the earlier ones are doing; a refused one fails the run.
  const calls: Promise<unknown>[] = [];
  for (let k = 0; k < rate * seconds; k++) {
    const wait = started + k * intervalMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const call = client.apply({ resource: vmManifest(k % n, { "bench/tick": String(k) }) });
    // Handled now, so a refusal while later ones are sent is not an unhandled rejection;
    // Promise.all below still fails with it.
    call.catch(() => undefined);
    calls.push(call);
  }
  const applied = (await Promise.all(calls)).length;
  return { applied, seconds: (performance.now() - started) / 1000 };
}
