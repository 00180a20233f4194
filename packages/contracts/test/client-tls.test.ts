import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "../src/index.js";
import { type TlsMaterial, createProviderClient, findTlsProblem } from "../src/client/index.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";

// TLS material a client cannot use is refused when the client is made, with
// the option at fault named, not at every handshake (and never by a call
// that fails without touching the network, which a caller may retry at
// once).

let pki: TestCertificates;
const pem = (path: string) => readFileSync(path);
let encryptedKey: string;
let notPem: string;
/**
 * A throwaway EC key encrypted with the passphrase "secret" (openssl pkey
 * -aes256), one of the few whose decryption with no passphrase fails as
 * ERR_OSSL_UNSUPPORTED: kept, as drawing one takes some 270 tries.
 */
const encryptedKeyFailingOtherwise = [
  "-----BEGIN ENCRYPTED PRIVATE KEY-----",
  "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAi2NcqR3jjmxwICCAAw",
  "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEECKbdxnTIphJujg/qh7yRSoEgZBo",
  "9crSa6AAuzgicvCKVgLgYo+HRyE5zRZyoKaRE9TIBnvqbLUnOfYpQd+uSaL1I9EB",
  "6IveT9P6i/lVubzjM6Jt8iGD6M4TU/Zo5kFk1VGzK5eQjLYAqFCem1HFh11DqZQ2",
  "Otz23fz+An0NqD/voW31p0H5d/T4zW1vFgZGN1kSuF0vEBYDLpaLp7ilVnyrxO4=",
  "-----END ENCRYPTED PRIVATE KEY-----",
  "",
].join("\n");

beforeAll(() => {
  pki = createTestCertificates();
  encryptedKey = join(pki.dir, "encrypted.key");
  execFileSync("openssl", [
    "pkey",
    "-in",
    pki.clientKey,
    "-aes256",
    "-passout",
    "pass:secret",
    "-out",
    encryptedKey,
  ]);
  notPem = join(pki.dir, "hostname.txt");
  writeFileSync(notPem, "provider-1.example\n");
});
afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

describe("findTlsProblem", () => {
  const cases: Array<[string, () => TlsMaterial, { part: string; message: RegExp } | undefined]> = [
    ["a CA bundle", () => ({ ca: pem(pki.caCert) }), undefined],
    [
      "a client certificate with its key",
      () => ({ ca: pem(pki.caCert), cert: pem(pki.clientCert), key: pem(pki.clientKey) }),
      undefined,
    ],
    ["a CA file that is no PEM", () => ({ ca: pem(notPem) }), { part: "ca", message: /no PEM/ }],
    [
      "a CA file that holds a key",
      () => ({ ca: pem(pki.caCert.replace(".crt", ".key")) }),
      { part: "ca", message: /no PEM certificate/ },
    ],
    [
      "a key that is no key",
      () => ({ cert: pem(pki.clientCert), key: pem(notPem) }),
      { part: "key", message: /is not a PEM private key/ },
    ],
    [
      "a certificate given as the key",
      () => ({ cert: pem(pki.clientCert), key: pem(pki.clientCert) }),
      { part: "key", message: /is not a PEM private key/ },
    ],
    [
      "a key given as the certificate",
      () => ({ cert: pem(pki.clientKey), key: pem(pki.clientKey) }),
      { part: "cert", message: /is not a PEM certificate/ },
    ],
    [
      "an encrypted key",
      () => ({ cert: pem(pki.clientCert), key: pem(encryptedKey) }),
      { part: "key", message: /encrypted/ },
    ],
    [
      // Decrypted without a passphrase, its padding checks out: ERR_OSSL_UNSUPPORTED,
      // as about one encrypted key in 270 fails, and not ERR_OSSL_BAD_DECRYPT.
      "an encrypted key whose decryption without the passphrase does not fail as bad",
      () => ({ cert: pem(pki.clientCert), key: encryptedKeyFailingOtherwise }),
      { part: "key", message: /encrypted/ },
    ],
    [
      "a key of another certificate",
      () => ({ cert: pem(pki.clientCert), key: pem(pki.strangerKey) }),
      { part: "key", message: /does not match/ },
    ],
    [
      "a certificate without a key",
      () => ({ cert: pem(pki.clientCert) }),
      { part: "key", message: /is required/ },
    ],
    [
      "a key without a certificate",
      () => ({ key: pem(pki.clientKey) }),
      { part: "cert", message: /is required/ },
    ],
  ];
  it.each(cases)("%s", (_what, material, expected) => {
    const problem = findTlsProblem(material());
    if (!expected) return expect(problem).toBeUndefined();
    expect(problem?.part).toBe(expected.part);
    expect(problem?.message).toMatch(expected.message);
    // Never the secret itself.
    expect(problem?.message).not.toMatch(/BEGIN|PRIVATE/);
  });
});

describe("a client with TLS files that cannot work", () => {
  const refused = (tls: Parameters<typeof createProviderClient>[1]) => {
    try {
      createProviderClient("https://127.0.0.1:1", tls).close();
    } catch (err) {
      return err;
    }
    return undefined;
  };

  it("is refused when it is made, naming the file", () => {
    const error = refused({ tls: { certFile: pki.clientCert, keyFile: notPem } });
    expect(ProviderError.is(error, ErrorReason.INVALID_SPEC)).toBe(true);
    expect((error as ProviderError).field).toBe("tls.keyFile");
    expect((error as ProviderError).rawMessage).toBe(`"${notPem}" is not a PEM private key`);
  });

  it("names a file that does not exist, and contents given directly", () => {
    const missing = refused({ tls: { caFile: join(pki.dir, "nope.crt") } }) as ProviderError;
    expect(missing.field).toBe("tls.caFile");
    expect(missing.rawMessage).toMatch(/nope\.crt" does not exist$/);
    const inline = refused({ tls: { cert: pem(pki.clientCert), key: "hello" } }) as ProviderError;
    expect(inline.field).toBe("tls.key");
    expect(inline.rawMessage).toBe("is not a PEM private key");
  });
});
