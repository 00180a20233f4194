import {
  ErrorReason,
  ProviderError,
  type ServiceClient,
  createServiceClient,
} from "@virtrigaud/contracts";
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
} as const;

/** Options every command takes. */
export interface GlobalOptions {
  server: string;
  namespace: string;
  allNamespaces: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Where vrtg writes, so tests can capture it. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  readStdin: () => Promise<string>;
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

/** A ManagerService client for the options. */
export function connect(options: GlobalOptions): ManagerClient {
  return createServiceClient(ManagerService, options.server, {
    ...(options.caFile || options.certFile
      ? {
          tls: {
            ...(options.caFile ? { caFile: options.caFile } : {}),
            ...(options.certFile ? { certFile: options.certFile } : {}),
            ...(options.keyFile ? { keyFile: options.keyFile } : {}),
          },
        }
      : {}),
    defaultTimeoutMs: 30_000,
    retry: { maxAttempts: 2 },
    peerName: "the manager",
  });
}

/** Turns whatever went wrong into a CliError in plain words, with the manifest path of a bad field. */
export function explain(err: unknown, where = "", server = ""): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ManifestSyntaxError) return new CliError(err.message, exitCodes.invalid);
  if (!ProviderError.is(err))
    return new CliError((err as Error).message ?? String(err), exitCodes.error);
  const prefix = where ? `${where}: ` : "";
  switch (err.reason) {
    case ErrorReason.INVALID_SPEC:
      return new CliError(
        `${prefix}${err.field ? `${manifestPath(err.field)}: ` : ""}${err.rawMessage}`,
        exitCodes.invalid,
      );
    case ErrorReason.NOT_FOUND:
      return new CliError(`${prefix}${err.rawMessage}`, exitCodes.notFound);
    case ErrorReason.CONFLICT:
      return new CliError(`${prefix}${err.rawMessage}`, exitCodes.conflict);
    case ErrorReason.UNAVAILABLE:
    case ErrorReason.DEADLINE_EXCEEDED:
      // The client names the manager when it cannot reach it; the manager's
      // own refusals (it is shutting down) do not.
      return new CliError(
        `${prefix}${
          err.rawMessage.startsWith("the manager")
            ? err.rawMessage
            : `the manager${server ? ` at ${server}` : ""} did not answer: ${err.rawMessage}`
        }`,
        exitCodes.unavailable,
      );
    default:
      return new CliError(`${prefix}${err.rawMessage}`, exitCodes.error);
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
