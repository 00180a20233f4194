import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { type LibvirtHost, createLibvirtHost } from "../src/host/libvirt-host.js";
import { createSshTransport } from "../src/host/ssh-transport.js";
import { sshKey, testbed } from "./testbed.js";

// The host's calls as spans, over the test bed's real sshd and libvirtd.

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let host: LibvirtHost;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  host = createLibvirtHost({
    uri: testbed().uri,
    transport: createSshTransport({
      host: testbed().sshHost,
      port: testbed().sshPort,
      username: testbed().sshUser,
      privateKey: sshKey(),
      knownHostsFile: testbed().knownHosts,
    }),
  });
});
afterAll(async () => {
  await host.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

it("makes a CLIENT span per host call, a child of the caller's, naming commands and never their arguments", async () => {
  const caller = trace.getTracer("test").startSpan("caller");
  const secret = "s3cr3t-document";
  await context.with(trace.setSpan(context.active(), caller), async () => {
    await host.virsh([["version"], ["echo", { string: secret }]]);
    await host.exec(["printf", "%s", secret]);
    const dir = await host.scratchDir();
    await host.writeFile(`${dir}/doc`, secret);
    await host.exec(["rm", "-r", "--", dir]);
  });
  caller.end();
  const spans = exporter.getFinishedSpans().filter((s) => s.name !== "caller");
  expect(spans.map((s) => s.name)).toEqual([
    "virsh version,echo",
    "exec printf",
    "scratch lease",
    "sftp write",
    "exec rm",
  ]);
  for (const span of spans) {
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(span.spanContext().traceId).toBe(caller.spanContext().traceId);
    expect(JSON.stringify([span.name, span.attributes])).not.toContain(secret);
  }
  expect(spans[0]?.attributes["libvirt.virsh.commands"]).toEqual(["version", "echo"]);
});

it("marks a failed host call's span as an error", async () => {
  exporter.reset();
  await expect(host.virshOk([["dominfo", { domain: "no-such-domain" }]])).rejects.toThrow();
  const [span] = exporter.getFinishedSpans();
  expect(span?.name).toBe("virsh dominfo");
  // The batch ran; the command failed inside it: the span is the round trip's, which succeeded.
  expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
  exporter.reset();
  const closed = createLibvirtHost({
    uri: testbed().uri,
    transport: createSshTransport({
      host: testbed().sshHost,
      port: 1,
      username: testbed().sshUser,
      privateKey: sshKey(),
      knownHostsFile: testbed().knownHosts,
      initialBackoffMs: 10,
    }),
  });
  try {
    await expect(closed.exec(["true"])).rejects.toThrow();
  } finally {
    await closed.close();
  }
  const [failed] = exporter.getFinishedSpans();
  expect(failed?.name).toBe("exec true");
  expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
});
