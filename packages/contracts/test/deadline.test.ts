import { getEventListeners } from "node:events";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorReason, ProviderError, ProviderService } from "../src/index.js";
import { createProviderClient } from "../src/client/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { aborted, stubProvider } from "./stub-provider.js";

// What the provider saw of each call's signal, by VM id.
const seen = new Map<string, Promise<unknown>>();
const provider = stubProvider({
  describe: async (request, ctx) => {
    const abort = aborted(ctx);
    seen.set(request.vmId, abort);
    await abort; // work that only ends when the call is aborted
    throw ProviderError.internal("the provider kept working after the abort");
  },
});

/** Waits until the provider has been asked to describe each of `vmIds`. */
async function untilSeen(...vmIds: string[]): Promise<void> {
  while (!vmIds.every((id) => seen.has(id))) await new Promise((resolve) => setTimeout(resolve, 5));
}

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer(provider);
});
afterAll(() => test.close());

it("a client deadline aborts the provider's work and fails with DEADLINE_EXCEEDED", async () => {
  const started = Date.now();
  const error = await test.client
    .describe({ vmId: "vm-deadline" }, { timeoutMs: 150 })
    .catch((e: unknown) => e);
  expect(ProviderError.is(error, ErrorReason.DEADLINE_EXCEEDED)).toBe(true);
  expect(Date.now() - started).toBeLessThan(5000);
  // The provider's signal fired: its work stopped.
  await expect(seen.get("vm-deadline")).resolves.toBeDefined();
});

it("the server enforces the deadline a caller sends, and tells the provider why", async () => {
  // No client-side timer, only the grpc-timeout header: the server's deadline fires.
  const client = createClient(ProviderService, createGrpcTransport({ baseUrl: test.server.url }));
  const error = await client
    .describe({ vmId: "vm-server-deadline" }, { headers: { "grpc-timeout": "100m" } })
    .catch((e: unknown) => e);
  expect(ProviderError.from(error).reason).toBe(ErrorReason.DEADLINE_EXCEEDED);
  const reason = await seen.get("vm-server-deadline");
  expect(ProviderError.from(reason).reason).toBe(ErrorReason.DEADLINE_EXCEEDED);
});

it("the provider learns the deadline", async () => {
  let deadline: number | undefined;
  const server = await startTestServer(
    stubProvider({
      describe: (_request, ctx) => {
        deadline = ctx.deadline;
        return Promise.resolve({ exists: false });
      },
    }),
  );
  try {
    const before = Date.now();
    await server.client.describe({ vmId: "vm-1" }, { timeoutMs: 60_000 });
    expect(deadline).toBeGreaterThan(before + 50_000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 60_000);
  } finally {
    await server.close();
  }
});

it("a client that cancels aborts the provider's work", async () => {
  const controller = new AbortController();
  const call = test.client
    .describe({ vmId: "vm-cancel" }, { signal: controller.signal })
    .catch((e: unknown) => e);
  await untilSeen("vm-cancel");
  controller.abort();
  expect(ProviderError.is(await call, ErrorReason.CANCELED)).toBe(true);
  await expect(seen.get("vm-cancel")).resolves.toBeDefined();
});

it("a client's signal ends its calls: in flight, with their own signal too, and not yet sent", async () => {
  const closing = new AbortController();
  const client = createProviderClient(test.server.url, { signal: closing.signal });
  try {
    const own = new AbortController();
    const plain = client.describe({ vmId: "vm-client-1" }).catch((e: unknown) => e);
    const withOwn = client
      .describe({ vmId: "vm-client-2" }, { signal: own.signal })
      .catch((e: unknown) => e);
    await untilSeen("vm-client-1", "vm-client-2");
    closing.abort(ProviderError.canceled("the client closed"));
    for (const call of [plain, withOwn]) {
      const error = await call;
      expect(ProviderError.is(error, ErrorReason.CANCELED)).toBe(true);
      expect((error as ProviderError).rawMessage).toBe("the client closed");
    }
    await expect(seen.get("vm-client-1")).resolves.toBeDefined();
    await expect(seen.get("vm-client-2")).resolves.toBeDefined();
    const late = await client.describe({ vmId: "vm-client-3" }).catch((e: unknown) => e);
    expect(ProviderError.is(late, ErrorReason.CANCELED)).toBe(true);
    expect(seen.has("vm-client-3")).toBe(false);
  } finally {
    client.close();
  }
});

it("a client's signal has one listener however many of its calls are in flight", async () => {
  // A listener per call would make each call walk all the others' as it adds its own.
  const closing = new AbortController();
  const client = createProviderClient(test.server.url, { signal: closing.signal });
  try {
    const ids = Array.from({ length: 50 }, (_, i) => `vm-many-${i}`);
    const calls = ids.map((vmId) => client.describe({ vmId }).catch((e: unknown) => e));
    await untilSeen(...ids);
    expect(getEventListeners(closing.signal, "abort")).toHaveLength(1);
    closing.abort(ProviderError.canceled("the client closed"));
    for (const error of await Promise.all(calls))
      expect(ProviderError.is(error, ErrorReason.CANCELED)).toBe(true);
  } finally {
    client.close();
  }
});

it("a call's own signal still ends it when the client has a signal of its own", async () => {
  const closing = new AbortController();
  const client = createProviderClient(test.server.url, { signal: closing.signal });
  try {
    const own = new AbortController();
    const call = client
      .describe({ vmId: "vm-own-1" }, { signal: own.signal })
      .catch((e: unknown) => e);
    await untilSeen("vm-own-1");
    own.abort();
    expect(ProviderError.is(await call, ErrorReason.CANCELED)).toBe(true);
    await expect(seen.get("vm-own-1")).resolves.toBeDefined();
    expect(closing.signal.aborted).toBe(false);
  } finally {
    client.close();
  }
});
