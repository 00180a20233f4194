import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  ErrorReason,
  ProviderError,
  type ProviderServer,
  ServeConfigError,
  createLogger,
  serveProvider,
} from "../src/index.js";
import { createProviderClient } from "../src/client/index.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";
import { stubProvider } from "./stub-provider.js";

const quiet = {
  opsListen: false as const,
  handleSignals: false,
  logger: createLogger({ level: "silent" }),
};
let pki: TestCertificates;

beforeAll(() => {
  pki = createTestCertificates();
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

/** The subject CN of the certificate a TLS server presents. */
function presentedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: "127.0.0.1", port, ca: [readFileSync(pki.caCert)], servername: "localhost" },
      () => {
        resolve(String(socket.getPeerCertificate().subject.CN));
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

describe("a plaintext server", () => {
  it("refuses to start without insecure", async () => {
    await expect(
      serveProvider(stubProvider(), { ...quiet, listen: "127.0.0.1:0" }),
    ).rejects.toThrow(ServeConfigError);
    await expect(
      serveProvider(stubProvider(), { ...quiet, listen: "127.0.0.1:0" }),
    ).rejects.toThrow(/--insecure/);
  });

  it("refuses TLS and insecure together", async () => {
    const tls = { certFile: pki.serverCert, keyFile: pki.serverKey };
    await expect(
      serveProvider(stubProvider(), { ...quiet, listen: "127.0.0.1:0", tls, insecure: true }),
    ).rejects.toThrow(ServeConfigError);
  });
});

describe("a provider's callers", () => {
  const tls = () => ({ certFile: pki.serverCert, keyFile: pki.serverKey });

  it("must show a client certificate: TLS without a client CA is refused", async () => {
    await expect(
      serveProvider(stubProvider(), { ...quiet, listen: "127.0.0.1:0", tls: tls() }),
    ).rejects.toThrow(/refusing TLS without client certificates: .*--tls-client-ca/);
  });

  it.each([":0", "0.0.0.0:0", "[::]:0", "example.com:0"])(
    "may be anyone only on a loopback address, not on %s",
    async (listen) => {
      await expect(
        serveProvider(stubProvider(), { ...quiet, listen, tls: tls(), allowAnyClient: true }),
      ).rejects.toThrow(/refusing --allow-any-client on .*: .*only on a loopback address/);
    },
  );

  it.each([":0", "0.0.0.0:0", "[::]:0", "10.0.0.1:0"])(
    "may not reach it in plaintext on %s",
    async (listen) => {
      await expect(
        serveProvider(stubProvider(), { ...quiet, listen, insecure: true }),
      ).rejects.toThrow(/refusing plaintext on .* \(port 0\): without TLS anyone who reaches it/);
    },
  );
});

describe("a TLS server", () => {
  let server: ProviderServer;
  beforeAll(async () => {
    server = await serveProvider(stubProvider(), {
      ...quiet,
      listen: "127.0.0.1:0",
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
      allowAnyClient: true,
    });
  });
  afterAll(() => server.close());

  it("serves https and a client that trusts its CA", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const protocol of ["connect", "grpc", "grpc-web"] as const) {
      const client = createProviderClient(server.url, {
        protocol,
        tls: { caFile: pki.caCert },
        retry: false,
      });
      await expect(client.validate({})).resolves.toMatchObject({ message: "stub" });
      client.close();
    }
  });

  it("serves a client that explicitly skips verification, for that client only", async () => {
    const careless = createProviderClient(server.url, {
      tls: { insecureSkipVerify: true },
      retry: false,
    });
    const careful = createProviderClient(server.url, { retry: false });
    try {
      await expect(careless.validate({})).resolves.toMatchObject({ message: "stub" });
      expect(
        ProviderError.is(
          await careful.validate({}).catch((e: unknown) => e),
          ErrorReason.UNAUTHENTICATED,
        ),
      ).toBe(true);
    } finally {
      careless.close();
      careful.close();
    }
  });

  it("is refused by a client that does not trust its CA", async () => {
    const client = createProviderClient(server.url, { retry: false });
    const error = await client.validate({}).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAUTHENTICATED)).toBe(true);
    expect(String(error)).toMatch(/TLS handshake/);
    client.close();
  });
});

describe("a mutual TLS server", () => {
  let server: ProviderServer;
  beforeAll(async () => {
    server = await serveProvider(stubProvider(), {
      ...quiet,
      listen: "127.0.0.1:0",
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
    });
  });
  afterAll(() => server.close());

  it("serves a client with a certificate from the trusted CA", async () => {
    const client = createProviderClient(server.url, {
      tls: { caFile: pki.caCert, certFile: pki.clientCert, keyFile: pki.clientKey },
      retry: false,
    });
    await expect(client.validate({})).resolves.toMatchObject({ message: "stub" });
    client.close();
  });

  it("refuses a client without a certificate", async () => {
    const client = createProviderClient(server.url, { tls: { caFile: pki.caCert }, retry: false });
    const error = await client.validate({}).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAUTHENTICATED)).toBe(true);
    expect(String(error)).toMatch(/certificate required/);
    client.close();
  });

  it("refuses a client whose certificate another CA signed", async () => {
    const client = createProviderClient(server.url, {
      tls: { caFile: pki.caCert, certFile: pki.strangerCert, keyFile: pki.strangerKey },
      retry: false,
    });
    const error = await client.validate({}).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAVAILABLE)).toBe(true);
    client.close();
  });
});

it("a server on every interface reports a URL clients can use", async () => {
  const server = await serveProvider(stubProvider(), {
    ...quiet,
    listen: ":0",
    tls: { certFile: pki.serverCert, keyFile: pki.serverKey, clientCaFile: pki.caCert },
  });
  try {
    expect(server.url).toMatch(/^https:\/\/localhost:\d+$/);
  } finally {
    await server.close();
  }
});

describe("certificate reload", () => {
  it("serves new certificates once the files change, without a restart", async () => {
    const certFile = join(pki.dir, "live.crt");
    const keyFile = join(pki.dir, "live.key");
    copyFileSync(pki.serverCert, certFile);
    copyFileSync(pki.serverKey, keyFile);
    const server = await serveProvider(stubProvider(), {
      ...quiet,
      listen: "127.0.0.1:0",
      tls: { certFile, keyFile },
      allowAnyClient: true,
      tlsReloadIntervalMs: 20,
    });
    try {
      expect(await presentedCertificate(server.port)).toBe("provider");
      copyFileSync(pki.otherServerKey, keyFile);
      copyFileSync(pki.otherServerCert, certFile);
      let subject = "";
      for (let i = 0; i < 100 && subject !== "provider-renewed"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        subject = await presentedCertificate(server.port);
      }
      expect(subject).toBe("provider-renewed");
    } finally {
      await server.close();
    }
  });
});
