import type { TextMapPropagator, TracerProvider } from "@opentelemetry/api";
import type { MetricReader } from "@opentelemetry/sdk-metrics";
import type { Logger } from "../logging/create-logger.js";
import type { ServerMetrics } from "./server-metrics.js";
import type { TlsFiles } from "./tls.js";

/**
 * Options every VirtRigaud server shares (`serveProvider`, `serveServices`).
 * Every field has a production default.
 */
export interface ServeOptions {
  /**
   * Host and port for RPCs (Connect, gRPC and gRPC-Web). ":PORT" listens on
   * every interface (IPv6 and IPv4 where available). Default: ":9443". Port 0
   * picks a free port.
   */
  listen?: string;
  /**
   * Host and port for /healthz, /readyz and /metrics. Default: ":8080".
   * `false` turns the endpoints off.
   */
  opsListen?: string | false;
  /** TLS certificate files; with `clientCaFile`, mutual TLS. Reloaded when they change. */
  tls?: TlsFiles;
  /** How often the TLS files are checked for changes. Default: 5000 ms. */
  tlsReloadIntervalMs?: number;
  /**
   * Serve plaintext. Required, and the only way, to run without `tls`: the
   * server refuses to start with neither.
   */
  insecure?: boolean;
  /**
   * The service.name of the server's metrics. Default for a provider:
   * "virtrigaud-provider-" followed by the provider type it declares;
   * otherwise "virtrigaud".
   */
  serviceName?: string;
  /** Default: a JSON logger on standard output at level "info". */
  logger?: Logger;
  /** Default: the global tracer provider (no spans unless one is registered). */
  tracerProvider?: TracerProvider;
  /** Reads the caller's trace context. Default: W3C Trace Context. */
  propagator?: TextMapPropagator;
  /**
   * The process's metrics, when it records its own besides the server's RPC
   * metrics (`createServerMetrics`); the server shuts them down when it
   * stops. Default: metrics of the server's own.
   */
  metrics?: ServerMetrics;
  /**
   * Metric readers besides the Prometheus endpoint, for example an OTLP
   * exporter, for the server's own metrics (ignored with `metrics`, which
   * take their readers at creation).
   */
  metricReaders?: MetricReader[];
  /** Sheds calls above this rate with RESOURCE_EXHAUSTED. Default: no limit. */
  rateLimit?: { qps: number; burst?: number };
  /** How long a drain waits for calls in flight before aborting them. Default: 30000 ms. */
  drainTimeoutMs?: number;
  /**
   * Called once when a drain begins, before it waits for calls in flight:
   * end long-lived server streams (watches) here so the drain need not wait
   * `drainTimeoutMs` for them.
   */
  onDrain?: () => void;
  /** Time between health probes (the provider's Validate). Default: 10000 ms. */
  healthCheckIntervalMs?: number;
  /** How long a health probe may take. Default: 5000 ms. */
  healthCheckTimeoutMs?: number;
  /** Drain and stop on SIGTERM and SIGINT. Default: true. */
  handleSignals?: boolean;
}

/** Options of `serveProvider`. */
export type ServeProviderOptions = ServeOptions;

/** ServeOptions with defaults applied and addresses parsed. */
export interface CompiledServeOptions {
  listen: { host: string; port: number };
  opsListen: { host: string; port: number } | undefined;
  tls: TlsFiles | undefined;
  tlsReloadIntervalMs: number;
  rateLimit: { qps: number; burst?: number } | undefined;
  drainTimeoutMs: number;
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  handleSignals: boolean;
}

/** A configuration the server refuses to start with. */
export class ServeConfigError extends Error {
  override name = "ServeConfigError";
}

/**
 * Parses "host:port", "[v6]:port" or ":port" (every interface; the host is then "").
 *
 * @throws ServeConfigError for anything else.
 */
export function parseListenAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new ServeConfigError(`listen address ${JSON.stringify(value)} is not host:port`);
  }
  return { host: match[1] ?? match[2] ?? "", port };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new ServeConfigError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}

/**
 * Applies defaults and checks the options.
 *
 * @throws ServeConfigError when neither TLS nor `insecure` is given, when
 * both are, or when a value is out of range.
 */
export function compileServeOptions(options: ServeOptions): CompiledServeOptions {
  if (!options.tls && !options.insecure) {
    throw new ServeConfigError(
      "refusing to serve without TLS: give certificate files (--tls-cert, --tls-key) or pass --insecure explicitly",
    );
  }
  if (options.tls && options.insecure) {
    throw new ServeConfigError("both TLS certificates and insecure were given; choose one");
  }
  if (options.rateLimit) {
    positive("rateLimit.qps", options.rateLimit.qps, 1);
    positive("rateLimit.burst", options.rateLimit.burst, 1);
  }
  return {
    listen: parseListenAddress(options.listen ?? ":9443"),
    opsListen:
      options.opsListen === false ? undefined : parseListenAddress(options.opsListen ?? ":8080"),
    tls: options.tls,
    tlsReloadIntervalMs: positive("tlsReloadIntervalMs", options.tlsReloadIntervalMs, 5000),
    rateLimit: options.rateLimit,
    drainTimeoutMs: positive("drainTimeoutMs", options.drainTimeoutMs, 30_000),
    healthCheckIntervalMs: positive("healthCheckIntervalMs", options.healthCheckIntervalMs, 10_000),
    healthCheckTimeoutMs: positive("healthCheckTimeoutMs", options.healthCheckTimeoutMs, 5000),
    handleSignals: options.handleSignals ?? true,
  };
}
