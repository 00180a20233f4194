import { rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createProviderClient } from "../src/client/index.js";
import { type CallObserver, peerOf } from "../src/server/index.js";
import { type ProviderServer, serveProvider } from "../src/server/serve-provider.js";
import { createLogger } from "../src/logging/create-logger.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";
import { stubProvider } from "./stub-provider.js";

// Each call's context holds its peer: the client's address, and under
// mutual TLS the certificate it presented (what access rules read).
interface SeenPeer {
  address: string | undefined;
  subject: string | undefined;
}
const seen: SeenPeer[] = [];
const observer: CallObserver = {
  finished(req) {
    const peer = peerOf(req.contextValues);
    const subject = peer?.certificate?.subject.CN;
    seen.push({ address: peer?.address, subject: Array.isArray(subject) ? subject[0] : subject });
  },
};

let pki: TestCertificates;
let mtls: ProviderServer;
let plain: ProviderServer;
const logger = createLogger({ name: "test", level: "silent" });

beforeAll(async () => {
  pki = createTestCertificates();
  const common = {
    logger,
    opsListen: false as const,
    handleSignals: false,
    callObservers: [observer],
  };
  mtls = await serveProvider(stubProvider(), {
    ...common,
    listen: "127.0.0.1:0",
    tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
  });
  plain = await serveProvider(stubProvider(), { ...common, listen: "127.0.0.1:0", insecure: true });
});
afterAll(async () => {
  await mtls?.close();
  await plain?.close();
  rmSync(pki.dir, { recursive: true, force: true });
});

it("gives a call its client's address and verified certificate", async () => {
  seen.length = 0;
  const client = createProviderClient(mtls.url, {
    tls: { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey },
    retry: false,
  });
  await client.validate({});
  client.close();
  expect(seen).toEqual([{ address: "127.0.0.1", subject: "manager" }]);
});

it("gives a plaintext call its address and no certificate", async () => {
  seen.length = 0;
  const client = createProviderClient(plain.url, { retry: false });
  await client.validate({});
  client.close();
  expect(seen).toEqual([{ address: "127.0.0.1", subject: undefined }]);
});
