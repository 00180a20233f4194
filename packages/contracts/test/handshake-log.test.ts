import { rmSync } from "node:fs";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type ProviderServer, createLogger, serveProvider } from "../src/index.js";
import { createProviderClient } from "../src/client/index.js";
import { createHandshakeRefusalLog } from "../src/server/handshake-log.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";
import { stubProvider } from "./stub-provider.js";

/** A logger whose lines land in `lines`, parsed. */
function capture(): {
  lines: Array<Record<string, unknown>>;
  logger: ReturnType<typeof createLogger>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  });
  return { lines, logger };
}

describe("a refused TLS handshake", () => {
  let pki: TestCertificates;
  let server: ProviderServer;
  const { lines, logger } = capture();
  beforeAll(async () => {
    pki = createTestCertificates();
    server = await serveProvider(stubProvider(), {
      opsListen: false,
      handleSignals: false,
      logger,
      listen: "127.0.0.1:0",
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
    });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  const refusals = () => lines.filter((l) => l["msg"] === "TLS handshake refused");

  it("is logged with the client's address and why, for no certificate and one of another CA", async () => {
    for (const tls of [
      { caFile: pki.caCert },
      { caFile: pki.caCert, certFile: pki.strangerCert, keyFile: pki.strangerKey },
    ]) {
      const client = createProviderClient(server.url, { tls, retry: false });
      await expect(client.validate({})).rejects.toThrow();
      client.close();
    }
    // The server logs as the handshake fails, a moment after the client gave up.
    for (let i = 0; i < 50 && refusals().length < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    // The address, where the socket still has it (one the failure destroyed has lost it).
    expect(refusals().map((l) => l["address"])).toEqual([
      "127.0.0.1",
      expect.stringMatching(/^(127\.0\.0\.1|unknown)$/),
    ]);
    // OpenSSL's reason where the server saw it; a client that hung up on the alert first leaves ECONNRESET.
    expect(refusals().map((l) => l["reason"])).toEqual([
      expect.stringMatching(/certificate/i),
      expect.stringMatching(/certificate|unknown ca|ECONNRESET/i),
    ]);
  });

  it("leaves the server serving a client it trusts", async () => {
    const client = createProviderClient(server.url, {
      tls: { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey },
      retry: false,
    });
    await expect(client.validate({})).resolves.toBeDefined();
    client.close();
  });
});

describe("createHandshakeRefusalLog", () => {
  it("logs five refusals per 10 s and counts the rest into the next line", () => {
    const { lines, logger } = capture();
    let t = 0;
    const refused = createHandshakeRefusalLog(logger, () => t);
    for (let i = 0; i < 8; i++) refused("192.0.2.1", "certificate required");
    expect(lines).toHaveLength(5);
    t = 10_000;
    refused("192.0.2.2", "unknown ca");
    expect(lines).toHaveLength(6);
    expect(lines[5]).toMatchObject({
      address: "192.0.2.2",
      reason: "unknown ca",
      refusedUnlogged: 3,
    });
  });
});
