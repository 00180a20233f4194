import { createProviderClient } from "@virtrigaud/contracts/client";

/** What the plain client took to make `n` VMs. */
export interface LimitFigures {
  seconds: number;
}

/**
 * The limit the manager is measured against: a plain client that makes, per
 * VM, the provider calls the manager makes (Create, the task followed the
 * way the manager follows it, Describe), straight to the provider, with the
 * manager's concurrency toward a provider (its calls in flight) and nothing
 * else: no store, no API, no watch.
 */
export async function runLimit(
  providerUrl: string,
  n: number,
  concurrency: number,
): Promise<LimitFigures> {
  const client = createProviderClient(providerUrl, {
    retry: { maxAttempts: 3, maxBackoffMs: 1000 },
  });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const name = `limit-${String(i).padStart(5, "0")}`;
        const created = await client.create({
          name,
          class: { cpu: 2, memoryMib: 2048 },
          powerOn: true,
          labels: { "virtrigaud.io/name": name },
        });
        await client.waitForTask(created.task, { pollIntervalMs: 50, maxPollIntervalMs: 2000 });
        await client.describe({ vmId: created.vmId });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return { seconds };
}
