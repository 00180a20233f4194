import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Meter } from "@opentelemetry/api";
import { parseByteSize } from "../byte-size.js";
import { parseDuration } from "../duration.js";
import { type LogLevel, type Logger, createLogger } from "../logging/create-logger.js";
import type { Provider } from "../provider.js";
import { setupTracing } from "../telemetry/setup-tracing.js";
import { ServeConfigError, type ServeOptions } from "./serve-options.js";
import { serveProvider } from "./serve-provider.js";
import { createServerMetrics } from "./server-metrics.js";
import type { CallObserver } from "./interceptors/observers.js";

type Flags = NonNullable<ParseArgsConfig["options"]>;
/** Values of parsed command-line flags. */
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** The flags every provider binary accepts, with VIRTRIGAUD_* environment fallbacks. */
export const serveFlags = {
  listen: { type: "string" },
  "ops-listen": { type: "string" },
  insecure: { type: "boolean" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "log-level": { type: "string" },
  "drain-timeout": { type: "string" },
  "rate-limit-qps": { type: "string" },
  "rate-limit-burst": { type: "string" },
  "max-message-size": { type: "string" },
  "max-connections": { type: "string" },
  "header-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  "write-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Flags;

/** `serveFlags` and the flags only a provider takes. */
const providerServeFlags = {
  ...serveFlags,
  "allow-any-client": { type: "boolean" },
  "transfer-listen": { type: "string" },
  "transfer-url": { type: "string" },
} as const satisfies Flags;

/**
 * Help text of `serveFlags` for a service whose addresses default to
 * `listen` and `opsListen` (a provider's are ":9443" and ":8080");
 * `provider` adds the flags only a provider takes.
 */
export function formatServeFlagsHelp(defaults: {
  listen: string;
  opsListen: string;
  provider?: boolean;
}): string {
  const providerOnly = defaults.provider
    ? `
  --allow-any-client        serve TLS without requiring client certificates; loopback addresses only
                            [VIRTRIGAUD_ALLOW_ANY_CLIENT=true] (default: --tls-client-ca is required with TLS)
  --transfer-listen HOST:PORT  where other providers read the disks this one shares (DiskExportShare), over
                            HTTPS with a ticket and no client certificate [VIRTRIGAUD_TRANSFER_LISTEN]
                            (default: off, and exports are not shared)
  --transfer-url URL        the base URL other providers reach --transfer-listen at, when it is not that
                            address [VIRTRIGAUD_TRANSFER_URL]`
    : "";
  return `Server flags (environment fallback in brackets):
  --listen HOST:PORT        RPC address; ":PORT" is every interface [VIRTRIGAUD_LISTEN] (default ${defaults.listen})
  --ops-listen HOST:PORT    /healthz, /readyz, /metrics address, or "off" [VIRTRIGAUD_OPS_LISTEN] (default ${defaults.opsListen})
  --tls-cert FILE           server certificate (PEM) [VIRTRIGAUD_TLS_CERT]
  --tls-key FILE            server key (PEM) [VIRTRIGAUD_TLS_KEY]
  --tls-client-ca FILE      require client certificates signed by these CAs (mutual TLS) [VIRTRIGAUD_TLS_CLIENT_CA]
  --insecure                serve plaintext, on a loopback --listen address only; required when no certificate
                            is given [VIRTRIGAUD_INSECURE=true]${providerOnly}
  --log-level LEVEL         fatal, error, warn, info, debug, trace or silent [VIRTRIGAUD_LOG_LEVEL] (default info)
  --drain-timeout DURATION  the longest a drain after SIGTERM takes [VIRTRIGAUD_DRAIN_TIMEOUT] (default 30s)
  --rate-limit-qps N        shed calls above N per second [VIRTRIGAUD_RATE_LIMIT_QPS]
  --rate-limit-burst N      calls admitted at once after a quiet spell, the token bucket's size [VIRTRIGAUD_RATE_LIMIT_BURST]
                            (default: the rate rounded up)
  --max-message-size SIZE   largest request message, once decompressed, in bytes or with Ki/Mi/Gi [VIRTRIGAUD_MAX_MESSAGE_SIZE]
                            (default 4Mi)
  --max-connections N       connections open at once; more are closed as they arrive [VIRTRIGAUD_MAX_CONNECTIONS] (default 4096)
  --header-timeout DURATION  time for a connection to send a request's headers [VIRTRIGAUD_HEADER_TIMEOUT] (default 30s)
  --request-timeout DURATION  time for a whole request to arrive; not a limit on responses [VIRTRIGAUD_REQUEST_TIMEOUT]
                            (default 60s)
  --idle-timeout DURATION   an HTTP/2 connection with no call in flight is closed after this [VIRTRIGAUD_IDLE_TIMEOUT]
                            (default 2m)
  --write-timeout DURATION  a response whose client reads nothing for this long is abandoned [VIRTRIGAUD_WRITE_TIMEOUT]
                            (default 30s)
  -h, --help                show this help`;
}

/** Help text of `serveFlags`, with a provider's default addresses. */
export const serveFlagsHelp = formatServeFlagsHelp({
  listen: ":9443",
  opsListen: ":8080",
  provider: true,
});

const logLevels: readonly LogLevel[] = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
];

function flag(values: FlagValues, env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = values[name];
  if (typeof value === "string") return value;
  const fallback = env[`VIRTRIGAUD_${name.toUpperCase().replaceAll("-", "_")}`];
  return fallback === "" ? undefined : fallback;
}

function numberFlag(values: FlagValues, env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = flag(values, env, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new ServeConfigError(`--${name} must be a positive number, got ${text}`);
  return value;
}

function durationFlag(
  values: FlagValues,
  env: NodeJS.ProcessEnv,
  name: string,
): number | undefined {
  const text = flag(values, env, name);
  try {
    return text === undefined ? undefined : parseDuration(text);
  } catch (err) {
    throw new ServeConfigError(`--${name}: ${(err as Error).message}`);
  }
}

function sizeFlag(values: FlagValues, env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = flag(values, env, name);
  try {
    return text === undefined ? undefined : parseByteSize(text);
  } catch (err) {
    throw new ServeConfigError(`--${name}: ${(err as Error).message}`);
  }
}

/** `value` under `key`, or nothing when undefined (for exactOptionalPropertyTypes). */
function some<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: number });
}

/**
 * Turns parsed `serveFlags` into serve options and a log level.
 *
 * @throws ServeConfigError for a value that does not parse.
 */
export function serveOptionsFromFlags(
  values: FlagValues,
  env: NodeJS.ProcessEnv = process.env,
): ServeOptions & { logLevel: LogLevel } {
  const logLevel = (flag(values, env, "log-level") ?? "info") as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ServeConfigError(
      `--log-level must be one of ${logLevels.join(", ")}, got ${logLevel}`,
    );
  }
  const cert = flag(values, env, "tls-cert");
  const key = flag(values, env, "tls-key");
  if (Boolean(cert) !== Boolean(key))
    throw new ServeConfigError("--tls-cert and --tls-key go together");
  const clientCa = flag(values, env, "tls-client-ca");
  if (clientCa && !cert)
    throw new ServeConfigError("--tls-client-ca needs --tls-cert and --tls-key");
  const listen = flag(values, env, "listen");
  const opsListen = flag(values, env, "ops-listen");
  const transferListen = flag(values, env, "transfer-listen");
  const transferUrl = flag(values, env, "transfer-url");
  if (transferUrl && !transferListen)
    throw new ServeConfigError("--transfer-url needs --transfer-listen");
  const qps = numberFlag(values, env, "rate-limit-qps");
  const burst = numberFlag(values, env, "rate-limit-burst");
  if (burst !== undefined && qps === undefined) {
    throw new ServeConfigError("--rate-limit-burst needs --rate-limit-qps");
  }
  const drainTimeoutMs = durationFlag(values, env, "drain-timeout");
  return {
    logLevel,
    insecure: values["insecure"] === true || env["VIRTRIGAUD_INSECURE"] === "true",
    ...(values["allow-any-client"] === true || env["VIRTRIGAUD_ALLOW_ANY_CLIENT"] === "true"
      ? { allowAnyClient: true }
      : {}),
    ...(listen ? { listen } : {}),
    ...(transferListen ? { transferListen } : {}),
    ...(transferUrl ? { transferUrl } : {}),
    ...(opsListen ? { opsListen: opsListen === "off" ? false : opsListen } : {}),
    ...(cert && key
      ? { tls: { certFile: cert, keyFile: key, ...(clientCa ? { clientCaFile: clientCa } : {}) } }
      : {}),
    ...(drainTimeoutMs === undefined ? {} : { drainTimeoutMs }),
    ...(qps === undefined ? {} : { rateLimit: { qps, ...(burst === undefined ? {} : { burst }) } }),
    ...some("readMaxBytes", sizeFlag(values, env, "max-message-size")),
    ...some("maxConnections", numberFlag(values, env, "max-connections")),
    ...some("headersTimeoutMs", durationFlag(values, env, "header-timeout")),
    ...some("requestTimeoutMs", durationFlag(values, env, "request-timeout")),
    ...some("idleTimeoutMs", durationFlag(values, env, "idle-timeout")),
    ...some("writeTimeoutMs", durationFlag(values, env, "write-timeout")),
  };
}

/** What a provider binary contributes to `runProvider`. */
export interface RunProviderOptions {
  /** The binary's name, for help, logs and traces. */
  name: string;
  version?: string;
  /** One line saying what the provider is. */
  description: string;
  /** Flags of the provider itself, besides `serveFlags`. */
  flags?: Flags;
  /** Help text of `flags`. */
  flagsHelp?: string;
  /**
   * Builds the provider from its flags. `meter` makes instruments served on
   * /metrics beside the RPC metrics (calls to the backend, say). `close`, if
   * returned, runs after the server has drained; `callObservers`, if
   * returned, watch every call (see `ServeOptions.callObservers`).
   */
  create(context: { values: FlagValues; logger: Logger; meter: Meter }): Promise<{
    provider: Provider;
    close?: () => Promise<void>;
    callObservers?: readonly CallObserver[];
  }>;
  /** Default: process.argv.slice(2). */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * The `main` of a provider binary: parses flags, sets up logging and
 * tracing, builds the provider, serves it until SIGTERM or SIGINT, drains,
 * and sets the exit code (0 after a clean stop, 2 for bad flags, 1 when
 * start-up fails).
 */
export async function runProvider(options: RunProviderOptions): Promise<void> {
  const env = options.env ?? process.env;
  const usage = `${options.name}: ${options.description}\n\nUsage: ${options.name} [flags]\n\n${serveFlagsHelp}${
    options.flagsHelp ? `\n\n${options.flagsHelp}` : ""
  }\n`;
  let values: FlagValues;
  let serve: ReturnType<typeof serveOptionsFromFlags>;
  try {
    values = parseArgs({
      args: options.argv ?? process.argv.slice(2),
      options: { ...providerServeFlags, ...options.flags },
      strict: true,
      allowPositionals: false,
    }).values;
    if (values["help"]) {
      process.stdout.write(usage);
      return;
    }
    serve = serveOptionsFromFlags(values, env);
  } catch (err) {
    process.stderr.write(`${options.name}: ${(err as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const { logLevel, ...serveOptions } = serve;
  const logger = createLogger({ name: options.name, level: logLevel });
  const tracing = setupTracing({
    serviceName: options.name,
    ...(options.version ? { serviceVersion: options.version } : {}),
    env,
  });
  const metrics = createServerMetrics({ serviceName: options.name });
  try {
    const { provider, close, callObservers } = await options.create({
      values,
      logger,
      meter: metrics.meter(options.name),
    });
    const server = await serveProvider(provider, {
      ...serveOptions,
      logger,
      serviceName: options.name,
      metrics,
      ...(callObservers ? { callObservers } : {}),
    });
    await server.closed;
    await close?.();
    process.exitCode = 0;
  } catch (err) {
    if (err instanceof ServeConfigError) {
      process.stderr.write(`${options.name}: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      logger.fatal({ err }, "the provider failed to start");
      process.exitCode = 1;
    }
  } finally {
    await metrics.shutdown();
    await tracing.shutdown();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}
