import { type Server as HttpServer, createServer as createHttpServer } from "node:http";
import {
  type Http2Server,
  createSecureServer,
  createServer as createHttp2Server,
} from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import { type Server as NetServer, createServer as createNetServer } from "node:net";
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ManagerService } from "@virtrigaud/proto/manager";
import { ErrorReason, ProviderError } from "../src/index.js";
import { createProviderClient, createServiceClient } from "../src/client/index.js";
import { type TransportFailure, transportFailureOf } from "../src/wire/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";
import { stubProvider } from "./stub-provider.js";

// Endpoints that are not what the client expects, on real sockets: each
// call fails with a reason that says what the server is, and no error
// escapes to the process (an HTTP/1.1 server once crashed it with an
// unhandled 'error' on a session the client had already left).

type AnyServer = HttpServer | Http2Server | NetServer;

let pki: TestCertificates;
const servers: AnyServer[] = [];
const ports: Record<string, number> = {};
let provider: TestServer;
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);

function listen(name: string, server: AnyServer): Promise<void> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      ports[name] = typeof address === "object" && address ? address.port : 0;
      resolve();
    }),
  );
}

beforeAll(async () => {
  process.on("uncaughtException", onEscape);
  pki = createTestCertificates();
  const key = readFileSync(pki.serverKey);
  const cert = readFileSync(pki.serverCert);
  await listen(
    "http1",
    createHttpServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end("<html><body>It works!</body></html>");
    }),
  );
  await listen(
    "garbage",
    createNetServer((socket) => {
      socket.on("error", () => {});
      socket.end("SSH-2.0-OpenSSH_9.2 not what you expected\r\n");
    }),
  );
  await listen(
    "h2html",
    createHttp2Server((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end("<html></html>");
    }),
  );
  await listen(
    "tlsHttp1",
    createHttpsServer({ key, cert }, (_req, res) => res.end("hello")),
  );
  await listen(
    "tlsH2",
    createSecureServer({ key, cert }, (_req, res) => res.end("hello")),
  );
  provider = await startTestServer(stubProvider());
});

afterAll(async () => {
  await provider.close();
  for (const server of servers) server.close();
  rmSync(pki.dir, { recursive: true, force: true });
  process.off("uncaughtException", onEscape);
});

/** Calls Validate twice in a row (the second on a fresh session), closes the client, lets late events fire. */
async function validateAt(endpoint: string, tls?: { caFile: string }): Promise<ProviderError[]> {
  const client = createProviderClient(endpoint, {
    retry: false,
    timeouts: { validate: 5000 },
    ...(tls ? { tls } : {}),
  });
  const errors: ProviderError[] = [];
  for (let i = 0; i < 2; i++) {
    try {
      await client.validate({});
    } catch (err) {
      errors.push(err as ProviderError);
    }
  }
  client.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  return errors;
}

const url = (scheme: string, name: string) => `${scheme}://127.0.0.1:${ports[name] ?? 0}`;

describe("a provider client at an endpoint that is no provider", () => {
  const cases: Array<{
    what: string;
    endpoint: () => string;
    tls?: () => { caFile: string };
    reason: ErrorReason;
    failure: TransportFailure;
    message: RegExp;
  }> = [
    {
      what: "an HTTP/1.1 web server",
      endpoint: () => url("http", "http1"),
      reason: ErrorReason.UNSUPPORTED,
      failure: "wrong-protocol",
      message: /does not speak HTTP\/2/,
    },
    {
      what: "a TCP server that answers garbage",
      endpoint: () => url("http", "garbage"),
      reason: ErrorReason.UNSUPPORTED,
      failure: "wrong-protocol",
      message: /does not speak HTTP\/2/,
    },
    {
      what: "an HTTP/2 server that answers a web page",
      endpoint: () => url("http", "h2html"),
      reason: ErrorReason.UNSUPPORTED,
      failure: "not-served",
      message:
        /is no Connect or gRPC server: it answered virtrigaud\.provider\.v1\.ProviderService\/Validate with content type text\/html/,
    },
    {
      what: "a plaintext server at an https endpoint",
      endpoint: () => url("https", "http1"),
      reason: ErrorReason.UNSUPPORTED,
      failure: "wrong-protocol",
      message: /does not answer in TLS: is it a plaintext server/,
    },
    {
      what: "a TLS server without HTTP/2",
      endpoint: () => url("https", "tlsHttp1"),
      tls: () => ({ caFile: pki.caCert }),
      reason: ErrorReason.UNSUPPORTED,
      failure: "wrong-protocol",
      message: /speaks TLS but not HTTP\/2/,
    },
    {
      what: "a TLS server whose certificate the client does not trust",
      endpoint: () => url("https", "tlsH2"),
      reason: ErrorReason.UNAUTHENTICATED,
      failure: "tls-handshake",
      message: /TLS handshake .* failed/,
    },
    {
      what: "a TLS server at an http endpoint",
      endpoint: () => url("http", "tlsH2"),
      reason: ErrorReason.UNAVAILABLE,
      failure: "closed",
      message: /closed the connection without an answer \(is it a TLS server/,
    },
    {
      what: "a closed port",
      endpoint: () => "http://127.0.0.1:1",
      reason: ErrorReason.UNAVAILABLE,
      failure: "unreachable",
      message: /cannot be reached: connect ECONNREFUSED/,
    },
  ];

  it.each(cases)("fails each call at $what, and nothing escapes", async (c) => {
    const errors = await validateAt(c.endpoint(), c.tls?.());
    expect(errors).toHaveLength(2);
    for (const error of errors) {
      expect(ProviderError.is(error, c.reason)).toBe(true);
      expect(transportFailureOf(error)).toBe(c.failure);
      expect(error.rawMessage).toMatch(c.message);
    }
    expect(escaped).toEqual([]);
  });

  it("names the procedure a Connect server of another service does not serve", async () => {
    const client = createServiceClient(ManagerService, provider.server.url, { retry: false });
    const error = await client.get({ name: "x" }).catch((err: unknown) => err);
    client.close();
    expect(ProviderError.is(error, ErrorReason.UNSUPPORTED)).toBe(true);
    expect(transportFailureOf(error)).toBe("not-served");
    expect((error as ProviderError).rawMessage).toMatch(
      /does not serve virtrigaud\.manager\.v1\.ManagerService\/Get \(it answered HTTP 404\)/,
    );
  });

  it("leaves a provider's own errors as the provider sent them", async () => {
    const unsupported = await startTestServer(
      stubProvider({ validate: () => Promise.reject(ProviderError.unsupported("not today")) }),
    );
    const error = await unsupported.client.validate({}).catch((err: unknown) => err);
    await unsupported.close();
    expect(ProviderError.is(error, ErrorReason.UNSUPPORTED)).toBe(true);
    expect(transportFailureOf(error)).toBeUndefined();
    expect((error as ProviderError).rawMessage).toBe("not today");
  });

  it("does not retry what retrying cannot fix", async () => {
    const counting = createHttpServer((_req, res) => res.end("hello"));
    let connections = 0;
    counting.on("connection", () => connections++);
    await listen("counting", counting);
    const client = createProviderClient(url("http", "counting"), { retry: { maxAttempts: 4 } });
    await expect(client.validate({})).rejects.toThrow(/does not speak HTTP\/2/);
    client.close();
    expect(connections).toBe(1);
  });
});
