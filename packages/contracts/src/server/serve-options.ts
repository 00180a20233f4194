import type { TextMapPropagator, TracerProvider } from "@opentelemetry/api";
import type { MetricReader } from "@opentelemetry/sdk-metrics";
import type { Logger } from "../logging/create-logger.js";
import type { ServerMetrics } from "./server-metrics.js";
import { isLoopbackHost } from "./loopback.js";
import type { TlsFiles } from "./tls.js";
import type { CallObserver } from "./interceptors/observers.js";

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
  /**
   * Host and port of a provider's transfer listener, where the exports it
   * shares (DiskExportShare) are read by other providers over HTTP/1.1:
   * HTTPS with `tls` but no client certificate asked for (the ticket is
   * the credential), plaintext only on loopback with `insecure`. Port 0
   * picks a free port. Default: none, and the provider shares no exports
   * (disk_export_share is false). Other servers ignore it.
   */
  transferListen?: string;
  /**
   * The base URL other providers reach the transfer listener at, when it
   * is not the listener's own address (a name in the certificate, a
   * forwarded port). Default: the scheme, host and port of `transferListen`.
   */
  transferUrl?: string;
  /** TLS certificate files; with `clientCaFile`, mutual TLS. Reloaded when they change. */
  tls?: TlsFiles;
  /** How often the TLS files are checked for changes. Default: 5000 ms. */
  tlsReloadIntervalMs?: number;
  /**
   * Serve plaintext. Required, and the only way, to run without `tls`: the
   * server refuses to start with neither. Only on a loopback `listen`
   * address (127.0.0.0/8, ::1, "localhost"): without TLS anyone who reaches
   * the port may call every method.
   */
  insecure?: boolean;
  /**
   * Serve TLS without client certificates. A provider refuses to, since its
   * callers would be anyone who reaches its port, unless this is set and it
   * listens on a loopback address (a local test of a TLS client, say).
   * Servers that authenticate callers otherwise (the manager) ignore it.
   */
  allowAnyClient?: boolean;
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
   * More observers of every call, after the metrics and the access log: they
   * see its request headers and how it ended (a test's call log, say).
   * Default: none.
   */
  callObservers?: readonly CallObserver[];
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
  /**
   * The largest request message accepted, in bytes, counted after
   * decompression (a small gzip body that inflates past it is refused while
   * it inflates). A larger one is refused with INVALID_SPEC. Default: 4 MiB.
   */
  readMaxBytes?: number;
  /**
   * Connections open at once; further ones are closed as they arrive (and
   * logged, at most every 10 s) while the open ones are served. Default: 4096.
   */
  maxConnections?: number;
  /**
   * How long a client may take to send a request's headers, counted from
   * the connection (or, on HTTP/1.1, from the end of the previous response)
   * and including the TLS handshake: a connection that sends nothing is
   * closed after it. Default: 30000 ms.
   */
  headersTimeoutMs?: number;
  /**
   * How long a client may take to send a whole request, headers and body.
   * Not a limit on the response: watches stream for as long as they like.
   * Default: 60000 ms; at least `headersTimeoutMs`.
   */
  requestTimeoutMs?: number;
  /**
   * How long an HTTP/2 connection with no call in flight stays open before
   * it is closed with a GOAWAY (HTTP/1.1 connections keep alive 5 s).
   * Default: 120000 ms.
   */
  idleTimeoutMs?: number;
  /**
   * How long a response may make no progress, its client having stopped
   * reading, before it is abandoned: the HTTP/2 stream is reset, the
   * HTTP/1.1 connection closed, and the call cancelled. Default: 30000 ms.
   */
  writeTimeoutMs?: number;
  /**
   * The longest a drain takes: calls in flight get most of it (all but up to
   * 3 s kept to end aborted calls and close connections), then are aborted.
   * Default: 30000 ms.
   */
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

/** ServeOptions with defaults applied and addresses parsed. */
export interface CompiledServeOptions {
  listen: { host: string; port: number };
  transferListen: { host: string; port: number } | undefined;
  opsListen: { host: string; port: number } | undefined;
  tls: TlsFiles | undefined;
  tlsReloadIntervalMs: number;
  rateLimit: { qps: number; burst?: number } | undefined;
  readMaxBytes: number;
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  writeTimeoutMs: number;
  drainTimeoutMs: number;
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  handleSignals: boolean;
}

/** A configuration the server refuses to start with (a binary exits with status 2). */
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

function wholeNumber(name: string, value: number | undefined, fallback: number, max: number) {
  const n = positive(name, value, fallback);
  if (!Number.isInteger(n) || n > max)
    throw new ServeConfigError(`${name} must be a whole number from 1 to ${max}, got ${n}`);
  return n;
}

/** A timer's longest delay in Node (about 24.8 days). */
const maxTimerMs = 2 ** 31 - 1;

function timeout(name: string, value: number | undefined, fallback: number): number {
  const ms = positive(name, value, fallback);
  if (ms > maxTimerMs)
    throw new ServeConfigError(`${name} must be at most ${maxTimerMs}, got ${ms}`);
  return ms;
}

/** Connect's ceiling for readMaxBytes, and zlib's for an inflated message. */
const maxReadMaxBytes = 0xffffffff;

/**
 * Applies defaults and checks the options.
 *
 * @throws ServeConfigError when neither TLS nor `insecure` is given, when
 * both are, when `insecure` listens on anything but a loopback address, or
 * when a value is out of range.
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
  const listen = parseListenAddress(options.listen ?? ":9443");
  if (options.insecure && !isLoopbackHost(listen.host)) {
    throw new ServeConfigError(
      `refusing plaintext on ${listen.host || "every interface"} (port ${listen.port}): without TLS anyone who reaches it may call every method; listen on a loopback address (--listen 127.0.0.1:${listen.port}) or serve mutual TLS (--tls-cert, --tls-key, --tls-client-ca)`,
    );
  }
  const transferListen =
    options.transferListen === undefined ? undefined : parseListenAddress(options.transferListen);
  if (transferListen && options.insecure && !isLoopbackHost(transferListen.host)) {
    throw new ServeConfigError(
      `refusing plaintext transfers on ${transferListen.host || "every interface"} (port ${transferListen.port}): anyone on the path could read a shared disk and its ticket; listen on a loopback address or serve TLS`,
    );
  }
  if (options.transferUrl !== undefined && !/^https?:\/\/[^/?#]+\/?$/.test(options.transferUrl))
    throw new ServeConfigError(
      `transferUrl ${JSON.stringify(options.transferUrl)} is not a base URL such as https://provider-a.example:9444`,
    );
  const headersTimeoutMs = timeout("headersTimeoutMs", options.headersTimeoutMs, 30_000);
  const requestTimeoutMs = timeout(
    "requestTimeoutMs",
    options.requestTimeoutMs,
    Math.max(60_000, headersTimeoutMs),
  );
  if (requestTimeoutMs < headersTimeoutMs)
    throw new ServeConfigError(
      `requestTimeoutMs (${requestTimeoutMs}) must be at least headersTimeoutMs (${headersTimeoutMs})`,
    );
  return {
    listen,
    transferListen,
    opsListen:
      options.opsListen === false ? undefined : parseListenAddress(options.opsListen ?? ":8080"),
    tls: options.tls,
    tlsReloadIntervalMs: positive("tlsReloadIntervalMs", options.tlsReloadIntervalMs, 5000),
    rateLimit: options.rateLimit,
    readMaxBytes: wholeNumber("readMaxBytes", options.readMaxBytes, 4 * 2 ** 20, maxReadMaxBytes),
    maxConnections: wholeNumber("maxConnections", options.maxConnections, 4096, 2 ** 31 - 1),
    headersTimeoutMs,
    requestTimeoutMs,
    idleTimeoutMs: timeout("idleTimeoutMs", options.idleTimeoutMs, 120_000),
    writeTimeoutMs: timeout("writeTimeoutMs", options.writeTimeoutMs, 30_000),
    drainTimeoutMs: positive("drainTimeoutMs", options.drainTimeoutMs, 30_000),
    healthCheckIntervalMs: positive("healthCheckIntervalMs", options.healthCheckIntervalMs, 10_000),
    healthCheckTimeoutMs: positive("healthCheckTimeoutMs", options.healthCheckTimeoutMs, 5000),
    handleSignals: options.handleSignals ?? true,
  };
}
