import { closeSync, openSync, readSync } from "node:fs";
import { ErrorReason, ProviderError, clip } from "@virtrigaud/contracts";
import { type ServiceClient, createServiceClient } from "@virtrigaud/contracts/client";
import { ManagerService } from "@virtrigaud/proto/manager";
import { ManifestSyntaxError } from "../manifest/parse-manifests.js";
import { manifestPath } from "./field-paths.js";

/** Exit codes vrtg ends with, for scripts. */
export const exitCodes = {
  ok: 0,
  /** Anything else: the manager refused or failed. */
  error: 1,
  /** The command line is wrong. */
  usage: 2,
  /** The resource does not exist. */
  notFound: 3,
  /** A manifest or a value is invalid. */
  invalid: 4,
  /** A stale resourceVersion, a resource being deleted or still in use. */
  conflict: 5,
  /** `wait` timed out. */
  timeout: 6,
  /** The manager cannot be reached. */
  unavailable: 7,
  /** `apply` stored some resources and not others (it lists which). */
  partlyApplied: 8,
} as const;

/** Options every command takes. */
export interface GlobalOptions {
  server: string;
  namespace: string;
  allNamespaces: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** A bearer token: --token, --token-file, VIRTRIGAUD_TOKEN or the config file's context. */
  token?: string;
}

/** Where vrtg reads and writes, so tests can capture it. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Standard input's bytes, as they come. */
  stdin: () => AsyncIterable<Uint8Array>;
  /**
   * Aborted once standard output cannot be written (its reader closed the
   * pipe, say; the reason is the error): what vrtg was asked to do goes on,
   * printing nothing more, and watches end.
   */
  outClosed: AbortSignal;
  /** Puts standard input's terminal in raw mode and back; absent when it is not a terminal. */
  setRawMode?: (on: boolean) => void;
}

/** A failure vrtg reports in plain words, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export type ManagerClient = ServiceClient<typeof ManagerService>;

/** The most vrtg reads of a --ca, --cert or --key file: PEM bundles are a few hundred KiB at most. */
const maxTlsFileBytes = 1024 * 1024;

/**
 * A --ca, --cert or --key file's contents, read at most to the limit, so a
 * wrong path (/dev/zero, a disk image) is refused rather than read to the end.
 *
 * @throws CliError (usage) naming the flag and the file.
 */
export function readTlsFile(flag: string, path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new CliError(`${flag} ${path}: ${(err as Error).message}`, exitCodes.usage);
  }
  try {
    const buf = Buffer.alloc(maxTlsFileBytes + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buf, length, buf.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > maxTlsFileBytes)
        throw new CliError(
          `${flag} ${path}: larger than 1 MiB, so not a certificate or key`,
          exitCodes.usage,
        );
    }
    return buf.subarray(0, length);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${flag} ${path}: ${(err as Error).message}`, exitCodes.usage);
  } finally {
    closeSync(fd);
  }
}

/**
 * A ManagerService client for the options.
 *
 * @throws CliError when a TLS file cannot be read.
 */
export function connect(options: GlobalOptions): ManagerClient {
  return createServiceClient(ManagerService, options.server, {
    ...(options.caFile || options.certFile
      ? {
          tls: {
            ...(options.caFile ? { ca: readTlsFile("--ca", options.caFile) } : {}),
            ...(options.certFile ? { cert: readTlsFile("--cert", options.certFile) } : {}),
            ...(options.keyFile ? { key: readTlsFile("--key", options.keyFile) } : {}),
          },
        }
      : {}),
    ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}),
    defaultTimeoutMs: 30_000,
    retry: { maxAttempts: 2 },
    peerName: "the manager",
  });
}

/** Turns whatever went wrong into a CliError in plain words, with the manifest path of a bad field. */
export function explain(err: unknown, where = "", server = ""): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ManifestSyntaxError)
    return new CliError(clip(err.message, 500), exitCodes.invalid);
  if (!ProviderError.is(err))
    return new CliError(clip((err as Error).message ?? String(err), 500), exitCodes.error);
  const prefix = where ? `${where}: ` : "";
  // The manager's messages and field paths can echo what was sent (a key, a value): cut them short.
  const message = clip(err.rawMessage, 500);
  switch (err.reason) {
    case ErrorReason.INVALID_SPEC:
      return new CliError(
        `${prefix}${err.field ? `${clip(manifestPath(err.field), 200)}: ` : ""}${message}`,
        exitCodes.invalid,
      );
    case ErrorReason.NOT_FOUND:
      return new CliError(`${prefix}${message}`, exitCodes.notFound);
    case ErrorReason.CONFLICT:
      return new CliError(`${prefix}${message}`, exitCodes.conflict);
    case ErrorReason.UNAUTHENTICATED:
      return new CliError(
        `${prefix}${message} (log in with --token, --token-file, VIRTRIGAUD_TOKEN or a context of the config file)`,
        exitCodes.error,
      );
    case ErrorReason.UNAVAILABLE:
    case ErrorReason.DEADLINE_EXCEEDED:
      // The client names the manager when it cannot reach it; the manager's
      // own refusals (it is shutting down) do not.
      return new CliError(
        `${prefix}${
          message.startsWith("the manager")
            ? message
            : `the manager${server ? ` at ${server}` : ""} did not answer: ${message}`
        }`,
        exitCodes.unavailable,
      );
    default:
      return new CliError(`${prefix}${message}`, exitCodes.error);
  }
}

/** "5s", "3m", "2h", "4d": how long ago, as kubectl prints ages. */
export function age(fromMs: number | undefined, now = Date.now()): string {
  if (fromMs === undefined) return "<unknown>";
  const s = Math.max(0, Math.floor((now - fromMs) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** Columns padded like kubectl's tables: each as wide as its widest cell, three spaces apart. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3)))
        .join("")
        .trimEnd(),
    )
    .join("\n");
}
