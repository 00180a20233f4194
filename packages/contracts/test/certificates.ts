import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM files of a test PKI. */
export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate signed by a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
  /** A second server certificate from the same CA, for reload tests. */
  otherServerCert: string;
  otherServerKey: string;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

function leaf(dir: string, name: string, ca: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-subj",
    subject,
    "-out",
    `${name}.csr`,
  );
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  );
}

/** Makes a CA, server and client certificates with openssl in a fresh temporary directory. */
export function createTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "virtrigaud-tls-"));
  for (const ca of ["ca", "stranger-ca"]) {
    openssl(
      dir,
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${ca}.key`,
      "-subj",
      `/CN=${ca}`,
      "-days",
      "2",
      "-out",
      `${ca}.crt`,
    );
  }
  const server = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
  const client = "extendedKeyUsage=clientAuth\n";
  leaf(dir, "server", "ca", "/CN=provider", server);
  leaf(dir, "other-server", "ca", "/CN=provider-renewed", server);
  leaf(dir, "client", "ca", "/CN=manager", client);
  leaf(dir, "stranger", "stranger-ca", "/CN=stranger", client);
  const f = (name: string) => join(dir, name);
  return {
    dir,
    caCert: f("ca.crt"),
    serverCert: f("server.crt"),
    serverKey: f("server.key"),
    clientCert: f("client.crt"),
    clientKey: f("client.key"),
    strangerCert: f("stranger.crt"),
    strangerKey: f("stranger.key"),
    otherServerCert: f("other-server.crt"),
    otherServerKey: f("other-server.key"),
  };
}
