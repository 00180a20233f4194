import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ErrorReason, ProviderError, createLogger } from "../src/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

// SetCredentials is optional, and what it carries reaches the provider and
// nothing the harness writes: no log line, span or metric.

const password = "pw-5e1f0c-credential";

describe("a provider without setCredentials", () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer(stubProvider({}));
  });
  afterAll(() => test.close());

  it("answers UNSUPPORTED", async () => {
    const error = await test.client
      .setCredentials({ data: { password: Buffer.from(password) } })
      .catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNSUPPORTED)).toBe(true);
  });
});

describe("a provider with setCredentials", () => {
  const logged: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString());
      done();
    },
  });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const received: string[] = [];
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer(
      stubProvider({
        setCredentials: (request) => {
          const value = request.data["password"];
          if (!value) return Promise.reject(ProviderError.invalidSpec("data.password", "missing"));
          received.push(Buffer.from(value).toString("utf8"));
          return Promise.resolve({});
        },
      }),
      {
        serve: {
          logger: createLogger({ level: "trace", destination }),
          opsListen: "127.0.0.1:0",
          tracerProvider,
        },
      },
    );
  });
  afterAll(async () => {
    await test.close();
    await tracerProvider.shutdown();
  });

  it("hands the data to the provider and writes it to no log, span or metric", async () => {
    await test.client.setCredentials({ data: { password: Buffer.from(password) } });
    await test.client
      .setCredentials({ data: { username: Buffer.from(password) } })
      .catch(() => undefined);
    expect(received).toEqual([password]);
    const metrics = await (await fetch(`${test.server.opsUrl}/metrics`)).text();
    const spans = JSON.stringify(
      exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.status, s.events]),
    );
    expect(spans).toContain("SetCredentials");
    expect(logged.join("")).toContain("call failed");
    for (const [what, text] of [
      ["logs", logged.join("")],
      ["spans", spans],
      ["metrics", metrics],
    ] as const)
      expect(`${what}: ${text.includes(password) ? "holds it" : "clean"}`).toBe(`${what}: clean`);
  });
});
