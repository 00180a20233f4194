import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@virtrigaud/proto/health";
import { ErrorReason, ProviderError, ProviderService, createLogger } from "../src/index.js";
import { createServiceClient } from "../src/client/index.js";
import { type ServicesServer, serveServices, servedService } from "../src/server/index.js";

// A service served without the provider layer: its own guard and readiness.
let ready = true;
const lines: string[] = [];
let server: ServicesServer;

beforeAll(async () => {
  server = await serveServices({
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    role: "manager",
    logger: createLogger({
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    }),
    readiness: () =>
      ready ? Promise.resolve() : Promise.reject(ProviderError.unavailable("store closed")),
    services: [
      servedService(
        ProviderService,
        {
          describe: (request) => {
            if (request.vmId === "vm-boom") throw new Error("the store's file is gone");
            return { exists: request.vmId === "vm-1" };
          },
        },
        [
          (req) => {
            if (req.header.get("authorization") !== "Bearer yes")
              throw ProviderError.unauthenticated("no token");
          },
        ],
      ),
    ],
  });
});
afterAll(() => server.close());

it("serves a service with the standard chain plus its own guards", async () => {
  const client = createServiceClient(ProviderService, server.url, {
    retry: false,
    headers: { authorization: "Bearer yes" },
  });
  try {
    expect((await client.describe({ vmId: "vm-1" })).exists).toBe(true);
    // The contract's rules still apply before the implementation runs.
    const invalid = await client.describe({ vmId: "" }).catch((e: unknown) => e);
    expect(ProviderError.is(invalid, ErrorReason.INVALID_SPEC)).toBe(true);
    // An unexpected failure points at this server's log, by its role.
    const broken = await client.describe({ vmId: "vm-boom" }).catch((e: unknown) => e);
    expect(ProviderError.is(broken, ErrorReason.INTERNAL)).toBe(true);
    expect((broken as ProviderError).rawMessage).toMatch(
      /^internal error; the manager's log has the details under request id \S+$/,
    );
    // A method the implementation lacks answers UNSUPPORTED (Connect's unimplemented).
    const missing = await client.listVMs({}).catch((e: unknown) => e);
    expect(ProviderError.is(missing, ErrorReason.UNSUPPORTED)).toBe(true);
  } finally {
    client.close();
  }
  const anonymous = createServiceClient(ProviderService, server.url, { retry: false });
  try {
    const refused = await anonymous.describe({ vmId: "vm-1" }).catch((e: unknown) => e);
    expect(ProviderError.is(refused, ErrorReason.UNAUTHENTICATED)).toBe(true);
  } finally {
    anonymous.close();
  }
  expect(lines.join("")).toContain('"msg":"manager serving"');
});

it("streams through the generic client, with health following readiness", async () => {
  const health = createServiceClient(Health, server.url);
  const controller = new AbortController();
  try {
    await server.health.refresh();
    const stream = health.watch(
      { service: "virtrigaud.provider.v1.ProviderService" },
      { signal: controller.signal },
    );
    const statuses: ServingStatus[] = [];
    for await (const { status } of stream) {
      statuses.push(status);
      if (statuses.length === 1) {
        ready = false;
        void server.health.refresh();
      } else break;
    }
    expect(statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    const unknown = await health.check({ service: "nope" }).catch((e: unknown) => e);
    expect(ProviderError.is(unknown, ErrorReason.NOT_FOUND)).toBe(true);
  } finally {
    controller.abort();
    health.close();
    ready = true;
  }
});
