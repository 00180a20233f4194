import { expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "../src/index.js";
import { createProviderClient } from "../src/client/index.js";
import { ServingStatus } from "../src/server/health.js";
import { startTestServer } from "../src/testing/index.js";
import { aborted, stubProvider } from "./stub-provider.js";

/** A provider whose Describe takes `ms`, or until aborted when ms is Infinity. */
function slowProvider(ms: number) {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const abort: { at?: number; reason?: unknown } = {};
  const provider = stubProvider({
    describe: async (_request, ctx) => {
      started();
      if (ms === Infinity) {
        abort.reason = await aborted(ctx);
        abort.at = Date.now();
        throw abort.reason;
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { exists: true, vm: { id: "vm-slow" } };
    },
  });
  return { provider, running, abort };
}

it("a drain lets a call in flight finish, then refuses new calls", async () => {
  const { provider, running } = slowProvider(300);
  const test = await startTestServer(provider);
  const inFlight = test.client.describe({ vmId: "vm-slow" });
  await running;
  const closed = test.server.close();
  expect(test.server.health.status).toBe(ServingStatus.NOT_SERVING);
  await expect(inFlight).resolves.toMatchObject({ exists: true });
  await closed;
  const late = createProviderClient(test.server.url, { retry: false });
  const error = await late.describe({ vmId: "vm-1" }).catch((e: unknown) => e);
  expect(ProviderError.is(error, ErrorReason.UNAVAILABLE)).toBe(true);
  late.close();
  test.client.close();
});

it("a drain that times out aborts the calls still in flight with UNAVAILABLE", async () => {
  const { provider, running, abort } = slowProvider(Infinity);
  const test = await startTestServer(provider, { serve: { drainTimeoutMs: 200 } });
  const inFlight = test.client.describe({ vmId: "vm-stuck" }).catch((e: unknown) => e);
  await running;
  const started = Date.now();
  await test.close();
  expect(Date.now() - started).toBeLessThan(3000);
  // The provider was left alone for most of the drain timeout (the rest is
  // kept to end aborted calls and close connections), then told the server is stopping.
  expect((abort.at ?? 0) - started).toBeGreaterThanOrEqual(135);
  expect(ProviderError.from(abort.reason).reason).toBe(ErrorReason.UNAVAILABLE);
  expect(ProviderError.is(await inFlight, ErrorReason.UNAVAILABLE)).toBe(true);
});

it("close is idempotent", async () => {
  const test = await startTestServer(stubProvider());
  const first = test.server.close();
  expect(test.server.close()).toBe(first);
  await first;
  await expect(test.server.closed).resolves.toBeUndefined();
  test.client.close();
});
