import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ProviderError } from "../src/index.js";
import { createProviderClient } from "../src/client/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

const exporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
});
const provider = stubProvider({
  describe: (request) =>
    request.vmId === "vm-missing"
      ? Promise.reject(ProviderError.notFound("no such vm"))
      : request.vmId === "vm-broken"
        ? Promise.reject(new Error("boom"))
        : Promise.resolve({ exists: true, vm: { id: request.vmId } }),
});

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer(provider, { serve: { opsListen: "127.0.0.1:0", tracerProvider } });
});
afterAll(async () => {
  await test.close();
  await tracerProvider.shutdown();
});

async function scrape(): Promise<string> {
  return (await fetch(`${test.server.opsUrl}/metrics`)).text();
}

it("a call produces a duration metric labelled with method and outcome", async () => {
  await test.client.describe({ vmId: "vm-1" });
  await test.client.describe({ vmId: "vm-missing" }).catch(() => {});
  const metrics = await scrape();
  const ok = metrics
    .split("\n")
    .find(
      (l) =>
        l.startsWith("rpc_server_duration_count{") &&
        l.includes('rpc_method="Describe"') &&
        l.includes('rpc_response_status_code="ok"'),
    );
  expect(ok).toBeDefined();
  expect(Number(ok?.split(" ").at(-1))).toBeGreaterThanOrEqual(1);
  expect(metrics).toMatch(
    /rpc_server_duration_count\{[^}]*rpc_response_status_code="not_found"[^}]*\} 1/,
  );
  expect(metrics).toMatch(/rpc_server_active_requests\{[^}]*\} 0/);
  expect(metrics).toMatch(/target_info\{[^}]*service_name="virtrigaud-provider-stub"/);
});

it("a call produces a server span named after the RPC", async () => {
  exporter.reset();
  await test.client.describe({ vmId: "vm-2" });
  const span = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
  expect(span?.name).toBe("virtrigaud.provider.v1.ProviderService/Describe");
  expect(span?.attributes).toMatchObject({
    "rpc.system": "connect_rpc",
    "rpc.service": "virtrigaud.provider.v1.ProviderService",
    "rpc.method": "Describe",
    "rpc.grpc.status_code": 0,
  });
});

it("a server span continues the caller's W3C trace", async () => {
  exporter.reset();
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const parentId = "00f067aa0ba902b7";
  await test.client.describe(
    { vmId: "vm-3" },
    { headers: { traceparent: `00-${traceId}-${parentId}-01` } },
  );
  const span = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER);
  expect(span?.spanContext().traceId).toBe(traceId);
  expect(span?.parentSpanContext?.spanId).toBe(parentId);
});

it("a client with tracing joins the server's span to its own trace", async () => {
  exporter.reset();
  const client = createProviderClient(test.server.url, { tracerProvider, retry: false });
  try {
    await client.describe({ vmId: "vm-4" });
  } finally {
    client.close();
  }
  const spans = exporter.getFinishedSpans();
  const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT);
  const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
  expect(clientSpan).toBeDefined();
  expect(serverSpan?.spanContext().traceId).toBe(clientSpan?.spanContext().traceId);
  expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
});

it("a failure marks the span: an error for server faults, not for the caller's mistakes", async () => {
  exporter.reset();
  await test.client.describe({ vmId: "vm-missing" }).catch(() => {});
  await test.client.describe({ vmId: "vm-broken" }).catch(() => {});
  const [missing, broken] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
  expect(missing?.attributes["rpc.grpc.status_code"]).toBe(5);
  expect(missing?.status.code).toBe(SpanStatusCode.UNSET);
  expect(broken?.attributes["rpc.grpc.status_code"]).toBe(13);
  expect(broken?.status.code).toBe(SpanStatusCode.ERROR);
  expect(broken?.status.message).not.toContain("boom");
});
