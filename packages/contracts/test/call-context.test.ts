import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError, createLogger } from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

const lines: Array<Record<string, unknown>> = [];
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split("\n").filter(Boolean))
      lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

const seenRequestIds: string[] = [];
let test: TestServer;
beforeAll(async () => {
  test = await startTestServer(
    stubProvider({
      describe: (_request, ctx) => {
        seenRequestIds.push(ctx.requestId);
        ctx.logger.info({ password: "hunter2", detail: { token: "s3cr3t" } }, "provider log line");
        return Promise.resolve({ exists: false });
      },
      create: () => Promise.reject(new Error("connection string postgres://admin:hunter2@db")),
    }),
    {
      serve: {
        logger: createLogger({ level: "debug", destination }),
        rateLimit: { qps: 1, burst: 2 },
      },
    },
  );
});
afterAll(() => test.close());

it("passes the caller's x-request-id to the provider and back", async () => {
  let returned: string | null = null;
  await test.client.describe(
    { vmId: "vm-1" },
    { headers: { "x-request-id": "req-42" }, onHeader: (h) => (returned = h.get("x-request-id")) },
  );
  expect(seenRequestIds.at(-1)).toBe("req-42");
  expect(returned).toBe("req-42");
  expect(lines.find((l) => l["msg"] === "provider log line")).toMatchObject({
    requestId: "req-42",
    rpc: "Describe",
  });
});

it("makes up a request id when the caller sends none", async () => {
  await new Promise((resolve) => setTimeout(resolve, 1100)); // a fresh rate-limit token
  await test.client.describe({ vmId: "vm-1" });
  expect(seenRequestIds.at(-1)).toMatch(/^[0-9a-f-]{36}$/);
});

it("keeps secrets out of the log", async () => {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await test.client
    .create({
      name: "vm",
      class: { cpu: 1, memoryMib: 64 },
      cloudInit: { userData: "password: hunter2" },
    })
    .catch(() => {});
  const text = JSON.stringify(lines);
  expect(text).not.toContain("s3cr3t");
  const providerLine = lines.find((l) => l["msg"] === "provider log line");
  expect(providerLine?.["password"]).toBe("[redacted]");
  // The internal error's cause is logged for the operator (it is the provider's own message),
  // but request messages, and so cloud-init data, never are.
  expect(lines.some((l) => l["msg"] === "internal error")).toBe(true);
  expect(text).not.toContain("password: hunter2");
});

it("sheds calls above the rate limit with RESOURCE_EXHAUSTED and a retry time", async () => {
  await new Promise((resolve) => setTimeout(resolve, 2100)); // a full bucket of 2
  const results = await Promise.all(
    [1, 2, 3].map(() =>
      test.client.describe({ vmId: "vm-1" }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    ),
  );
  const shed = results.filter((r): r is ProviderError =>
    ProviderError.is(r, ErrorReason.RESOURCE_EXHAUSTED),
  );
  expect(shed).toHaveLength(1);
  expect(shed[0]?.retryAfterMs).toBeGreaterThan(0);
  expect(shed[0]?.retryAfterMs).toBeLessThanOrEqual(1000);
});
