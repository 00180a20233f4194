import { afterEach, expect, it } from "@jest/globals";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@virtrigaud/proto/health";
import { ErrorReason, ProviderError } from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

let healthy = true;
const provider = stubProvider({
  validate: () =>
    healthy
      ? Promise.resolve({ message: "ok" })
      : Promise.reject(ProviderError.unavailable("libvirtd is not answering")),
});

let test: TestServer | undefined;
afterEach(async () => {
  await test?.close();
  healthy = true;
});

async function start() {
  test = await startTestServer(provider, { serve: { opsListen: "127.0.0.1:0" } });
  const health = createClient(Health, createGrpcTransport({ baseUrl: test.server.url }));
  return { server: test.server, health };
}

it("grpc.health.v1 turns NOT_SERVING when Validate fails, and back", async () => {
  const { server, health } = await start();
  await server.health.refresh();
  expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  expect((await health.check({ service: "virtrigaud.provider.v1.ProviderService" })).status).toBe(
    ServingStatus.SERVING,
  );

  healthy = false;
  await server.health.refresh();
  expect((await health.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
  expect(server.health.reason).toMatch(/libvirtd is not answering/);

  healthy = true;
  await server.health.refresh();
  expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
});

it("grpc.health.v1 answers NOT_FOUND for an unknown service", async () => {
  const { health } = await start();
  const error = await health.check({ service: "no.such.Service" }).catch((e: unknown) => e);
  expect(ProviderError.from(error).reason).toBe(ErrorReason.NOT_FOUND);
});

it("Watch streams each change of status", async () => {
  const { server, health } = await start();
  await server.health.refresh();
  const controller = new AbortController();
  const stream = health
    .watch({ service: "" }, { signal: controller.signal })
    [Symbol.asyncIterator]();
  const next = async (): Promise<ServingStatus | undefined> => {
    const result = await stream.next();
    return result.done ? undefined : result.value.status;
  };
  expect(await next()).toBe(ServingStatus.SERVING);
  healthy = false;
  void server.health.refresh();
  expect(await next()).toBe(ServingStatus.NOT_SERVING);
  controller.abort();
});

it("/readyz follows Validate and /healthz stays up", async () => {
  const { server } = await start();
  await server.health.refresh();
  let ready = await fetch(`${server.opsUrl}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ status: "SERVING" });

  healthy = false;
  await server.health.refresh();
  ready = await fetch(`${server.opsUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({
    status: "NOT_SERVING",
    reason: expect.stringMatching(/libvirtd/),
  });
  expect((await fetch(`${server.opsUrl}/healthz`)).status).toBe(200);
  expect((await fetch(`${server.opsUrl}/nothing`)).status).toBe(404);
});

it("the first probe runs at start, without waiting for an interval", async () => {
  test = await startTestServer(provider, { serve: { healthCheckIntervalMs: 3_600_000 } });
  for (let i = 0; i < 100 && test.server.health.status !== ServingStatus.SERVING; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(test.server.health.status).toBe(ServingStatus.SERVING);
});

it("a Validate that ignores its signal counts as failed after the probe timeout", async () => {
  test = await startTestServer(stubProvider({ validate: () => new Promise(() => {}) }), {
    serve: { healthCheckTimeoutMs: 100, healthCheckIntervalMs: 3_600_000 },
  });
  const started = Date.now();
  await test.server.health.refresh();
  expect(Date.now() - started).toBeLessThan(2000);
  expect(test.server.health.status).toBe(ServingStatus.NOT_SERVING);
});
