import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { ProviderError, isErrorLike } from "../errors/provider-error.js";

/** PEM material of a TLS client: CAs to trust, and a certificate and key for mutual TLS. */
export interface TlsMaterial {
  ca?: string | Buffer | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
}

/** A part of `TlsMaterial`. */
export type TlsPart = keyof TlsMaterial;

/** What is wrong with one part of some TLS material. */
export interface TlsProblem {
  part: TlsPart;
  /** Why, in words that quote no PEM content. */
  message: string;
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The header of an encrypted PEM key: PKCS #8's, or the traditional form's. */
const encryptedKeyHeader = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

/** The code of a Node error ("ENOENT", "ERR_OSSL_BAD_DECRYPT"), or "". */
function errorCode(err: unknown): string {
  return isErrorLike(err) && typeof err.code === "string" ? err.code : "";
}

function caProblem(ca: string | Buffer): string | undefined {
  const blocks = ca.toString("latin1").match(certificateBlock) ?? [];
  // Node ignores what is not a certificate in `ca`, and a bundle with none
  // trusts nothing: say so now, not at every handshake.
  if (!blocks.length) return "holds no PEM certificate";
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      return "holds a PEM certificate that does not parse";
    }
  }
  return undefined;
}

/**
 * Checks PEM material as a TLS client would use it: `ca` must hold
 * certificates, `cert` a certificate, `key` an unencrypted private key that
 * matches `cert`, and `cert` and `key` go together. Nothing is sent anywhere.
 *
 * @returns the first problem found, or undefined when the material works.
 */
export function findTlsProblem(material: TlsMaterial): TlsProblem | undefined {
  const { ca, cert, key } = material;
  if (ca !== undefined) {
    const message = caProblem(ca);
    if (message) return { part: "ca", message };
  }
  if (cert !== undefined && key === undefined)
    return { part: "key", message: "is required with a client certificate" };
  if (key !== undefined && cert === undefined)
    return { part: "cert", message: "is required with a client key" };
  if (cert === undefined || key === undefined) return undefined;
  try {
    createSecureContext({ cert });
  } catch {
    return { part: "cert", message: "is not a PEM certificate" };
  }
  try {
    createSecureContext({ key });
  } catch (err) {
    // By its header first: without the passphrase OpenSSL decrypts it with
    // none, and about one key in 270 then fails as ERR_OSSL_UNSUPPORTED
    // rather than ERR_OSSL_BAD_DECRYPT (the padding happened to check out).
    const encrypted =
      encryptedKeyHeader.test(key.toString("latin1")) || errorCode(err) === "ERR_OSSL_BAD_DECRYPT";
    return {
      part: "key",
      message: encrypted
        ? "is an encrypted private key; give it without a passphrase"
        : "is not a PEM private key",
    };
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    return { part: "key", message: "does not match the client certificate" };
  }
  return undefined;
}

/** Why a file could not be read, in words. */
function unreadable(err: unknown): string {
  switch (errorCode(err)) {
    case "ENOENT":
      return "does not exist";
    case "EACCES":
    case "EPERM":
      return "cannot be read: permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return "cannot be read";
  }
}

/** A path as an error message may quote it. */
function quotePath(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path);
}

/** Where one part of the material comes from: given directly, or a file to read. */
interface TlsSource {
  value: string | Buffer | undefined;
  file: string | undefined;
}

/**
 * Reads the parts given as files and checks the whole, for a client's TLS
 * options.
 *
 * @throws ProviderError INVALID_SPEC naming the option at fault: "tls.keyFile"
 * for a file, "tls.key" for contents given directly.
 */
export function loadTlsMaterial(sources: Record<TlsPart, TlsSource>): TlsMaterial {
  const material: TlsMaterial = {};
  // A part given directly is named as such ("tls.key"); one read, or missing, as its file.
  const fieldOf = (part: TlsPart) =>
    `tls.${part}${sources[part].value === undefined ? "File" : ""}`;
  for (const part of ["ca", "cert", "key"] as const) {
    const { value, file } = sources[part];
    if (value !== undefined) material[part] = value;
    else if (file) {
      try {
        material[part] = readFileSync(file);
      } catch (err) {
        throw ProviderError.invalidSpec(fieldOf(part), `${quotePath(file)} ${unreadable(err)}`, {
          cause: err,
        });
      }
    }
  }
  const problem = findTlsProblem(material);
  if (problem) {
    const file = sources[problem.part].file;
    throw ProviderError.invalidSpec(
      fieldOf(problem.part),
      file ? `${quotePath(file)} ${problem.message}` : problem.message,
    );
  }
  return material;
}
