import { rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { ProviderError, ProviderService, createLogger } from "../src/index.js";
import { createServiceClient } from "../src/client/index.js";
import {
  type ServicesServer,
  peerCertificateKey,
  serveServices,
  servedService,
} from "../src/server/index.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";

// An interceptor that answers with the subject its call's client certificate names.
function serve(tls: { certFile: string; keyFile: string; clientCaFile?: string } | undefined) {
  return serveServices({
    listen: "127.0.0.1:0",
    opsListen: false,
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
    readiness: () => Promise.resolve(),
    ...(tls ? { tls } : { insecure: true }),
    services: [
      servedService(
        ProviderService,
        { describe: () => ({ exists: true }) },
        [],
        [
          // An interceptor, as authentication is: it runs before validation.
          () => (req) => {
            const certificate = req.contextValues.get(peerCertificateKey)();
            throw ProviderError.notFound(
              `peer: ${certificate ? String(certificate.subject.CN) : "none"}`,
            );
          },
        ],
      ),
    ],
  });
}

let pki: TestCertificates;
const servers: ServicesServer[] = [];
beforeAll(() => {
  pki = createTestCertificates();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(pki.dir, { recursive: true, force: true });
});

async function peerSeen(server: ServicesServer, protocol: "connect" | "grpc", mutual: boolean) {
  const client = createServiceClient(ProviderService, server.url, {
    protocol,
    retry: false,
    ...(server.url.startsWith("https")
      ? {
          tls: {
            caFile: pki.caCert,
            ...(mutual ? { certFile: pki.clientCert, keyFile: pki.clientKey } : {}),
          },
        }
      : {}),
  });
  // An invalid request: the interceptor answers before validation would.
  const error = await client.describe({ vmId: "" }).catch((e: unknown) => e);
  return (error as ProviderError).rawMessage;
}

it("shows guards the verified client certificate under mutual TLS, over gRPC and Connect", async () => {
  const server = await serve({
    certFile: pki.serverCert,
    keyFile: pki.serverKey,
    clientCaFile: pki.caCert,
  });
  servers.push(server);
  expect(await peerSeen(server, "grpc", true)).toBe("peer: manager");
  expect(await peerSeen(server, "connect", true)).toBe("peer: manager");
});

it("shows no certificate in plaintext or under server-only TLS", async () => {
  const plain = await serve(undefined);
  const tls = await serve({ certFile: pki.serverCert, keyFile: pki.serverKey });
  servers.push(plain, tls);
  expect(await peerSeen(plain, "grpc", false)).toBe("peer: none");
  expect(await peerSeen(tls, "grpc", false)).toBe("peer: none");
});
