import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { isAbsolute, relative } from "node:path";
import { ProviderError } from "@virtrigaud/contracts";
import {
  type ClientTlsOptions,
  type TlsMaterial,
  type TlsPart,
  findTlsProblem,
} from "@virtrigaud/contracts/client";
import type { ProviderTls } from "@virtrigaud/proto/manager";

/** A file option of a Provider's `tls`. */
export type ProviderTlsFile = "caFile" | "certFile" | "keyFile";

/** PEM bundles larger than this are refused: a CA bundle of every public root is about 220 KiB. */
const maxPemBytes = 1024 * 1024;

const fileOf: Record<TlsPart, ProviderTlsFile> = { ca: "caFile", cert: "certFile", key: "keyFile" };

/** A path as a message may quote it: paths come from clients. */
function quoted(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path);
}

function unreadable(err: unknown): string {
  switch ((err as { code?: unknown }).code) {
    case "ENOENT":
      return "does not exist";
    case "EACCES":
    case "EPERM":
      return "cannot be read by the manager: permission denied";
    default:
      return "cannot be read by the manager";
  }
}

/**
 * Reads a regular file of at most `maxPemBytes`. Opened without blocking and
 * checked before any read: a path a client names may be a FIFO, which a
 * plain read would wait on for ever, or a device that never ends.
 */
function readPemFile(path: string): Buffer | string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return unreadable(err);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return "is not a regular file";
    if (stat.size > maxPemBytes) return `is larger than ${maxPemBytes / 1024} KiB`;
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } catch (err) {
    return unreadable(err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a path really is (symbolic links followed), when that is inside
 * `dir`; otherwise why not. The manager's host is not the manifest author's
 * to read: only the directory its operator named holds files a Provider may name.
 */
function withinDir(path: string, dir: string | undefined): { real: string } | string {
  if (!dir)
    return "cannot be read: the manager reads provider TLS files only from a directory its operator names (--provider-tls-dir), and none is set";
  let real: string;
  let realDir: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    return `cannot be read: the manager's --provider-tls-dir ${quoted(dir)} does not exist`;
  }
  try {
    real = realpathSync(path);
  } catch (err) {
    return unreadable(err);
  }
  const rel = relative(realDir, real);
  if (rel.startsWith("..") || isAbsolute(rel))
    return `is outside ${quoted(dir)}, the only directory the manager reads provider TLS files from`;
  return { real };
}

/**
 * Reads a Provider's TLS files, as the manager may (absolute paths of
 * regular files inside `dir`, without blocking), and checks that they work
 * together: a CA bundle with certificates, a certificate, an unencrypted key
 * that matches it. Returns the client's TLS options, with the contents read,
 * or undefined when the Provider has none.
 *
 * @throws ProviderError INVALID_SPEC whose field is `fieldOf` the file at fault.
 */
export function loadProviderTls(
  tls: ProviderTls | undefined,
  fieldOf: (option: ProviderTlsFile) => string,
  dir: string | undefined,
): ClientTlsOptions | undefined {
  if (!tls || !(tls.caFile || tls.certFile || tls.keyFile || tls.serverName)) return undefined;
  const material: TlsMaterial = {};
  for (const part of ["ca", "cert", "key"] as const) {
    const option = fileOf[part];
    const path = tls[option];
    if (!path) continue;
    if (!isAbsolute(path))
      throw ProviderError.invalidSpec(fieldOf(option), "must be an absolute path");
    const inside = withinDir(path, dir);
    if (typeof inside === "string")
      throw ProviderError.invalidSpec(fieldOf(option), `${quoted(path)} ${inside}`);
    // The path checked, not the one named: a link swapped meanwhile changes nothing.
    const contents = readPemFile(inside.real);
    if (typeof contents === "string")
      throw ProviderError.invalidSpec(fieldOf(option), `${quoted(path)} ${contents}`);
    material[part] = contents;
  }
  const problem = findTlsProblem(material);
  if (problem) {
    const option = fileOf[problem.part];
    const path = tls[option];
    throw ProviderError.invalidSpec(
      fieldOf(option),
      path ? `${quoted(path)} ${problem.message}` : problem.message,
    );
  }
  return {
    ...(material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.key ? { key: material.key } : {}),
    ...(tls.serverName ? { serverName: tls.serverName } : {}),
  };
}
