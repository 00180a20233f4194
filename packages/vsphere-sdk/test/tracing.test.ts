import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { VimFault, type VimClient, retrieveOne } from "../src/index.js";
import { vcsimClient, vcsimFromEnv } from "../src/testing/index.js";

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let client: VimClient;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  client = vcsimClient();
});
afterAll(async () => {
  await client.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

describe("tracing", () => {
  it("makes a CLIENT span per vim25 call, a child of the caller's, naming the method and never the arguments", async () => {
    const caller = trace.getTracer("test").startSpan("caller");
    const { rootFolder } = await client.serviceContent();
    await context.with(trace.setSpan(context.active(), caller), () =>
      retrieveOne(client, rootFolder, ["name"]),
    );
    caller.end();
    const spans = exporter.getFinishedSpans();
    const login = spans.find((s) => s.name === "vim25.Login");
    const retrieve = spans.find((s) => s.name === "vim25.RetrievePropertiesEx");
    expect(login).toBeDefined();
    expect(retrieve?.kind).toBe(SpanKind.CLIENT);
    expect(retrieve?.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(retrieve?.attributes).toMatchObject({
      "rpc.system": "vim25",
      "rpc.method": "RetrievePropertiesEx",
      "http.response.status_code": 200,
    });
    const { password, username } = vcsimFromEnv();
    for (const span of spans)
      for (const value of Object.values(span.attributes)) {
        expect(String(value)).not.toContain(password);
        expect(String(value)).not.toContain(username);
      }
  });

  it("marks a call that faults with its fault type", async () => {
    exporter.reset();
    const missing = { type: "VirtualMachine", value: "vm-does-not-exist" };
    await expect(retrieveOne(client, missing, ["name"])).rejects.toBeInstanceOf(VimFault);
    const [span] = exporter
      .getFinishedSpans()
      .filter((s) => s.name === "vim25.RetrievePropertiesEx");
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes["vim25.fault"]).toBe("ManagedObjectNotFound");
    expect(span?.attributes["vim25.object.type"]).toBe("PropertyCollector");
  });
});
