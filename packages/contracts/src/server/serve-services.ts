import { setMaxListeners } from "node:events";
import { type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import { trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { Health } from "@virtrigaud/proto/health";
import { createRateLimiter } from "../limits/rate-limiter.js";
import { type Logger, createLogger } from "../logging/create-logger.js";
import { type HealthMonitor, createHealthMonitor, createHealthService } from "./health.js";
import { createInflightCalls } from "./inflight-calls.js";
import { createHandshakeRefusalLog } from "./handshake-log.js";
import { createCallBoundaryInterceptor } from "./interceptors/call-boundary.js";
import { callLoggingObserver } from "./interceptors/call-logging.js";
import { createCallMetricsObserver } from "./interceptors/call-metrics.js";
import { type CallGuard, createGuardInterceptor } from "./interceptors/guards.js";
import { createRateLimitGuard } from "./interceptors/rate-limit.js";
import { createTracingInterceptor } from "./interceptors/tracing.js";
import { validationGuard } from "./interceptors/validation.js";
import { type NodeHandler, createNodeHandler } from "./node-handler.js";
import { createOpsServer } from "./ops-server.js";
import { type UpgradeHandler, listenRpc } from "./rpc-listener.js";
import { type ServeOptions, compileServeOptions } from "./serve-options.js";
import { createServerMetrics } from "./server-metrics.js";
import { loadTlsFiles, watchTlsFiles } from "./tls.js";

/** A Connect service to serve, and the checks its calls pass first. Make one with `servedService`. */
export interface ServedService {
  readonly service: DescService;
  readonly implementation: Partial<ServiceImpl<DescService>>;
  readonly guards: readonly CallGuard[];
  /**
   * Asynchronous checks of every call, streams included (authentication
   * against a remote key set, say), run inside the call boundary, so
   * observers see what they refused, and before the guards.
   */
  readonly interceptors: readonly Interceptor[];
}

/**
 * Pairs a service with its implementation, typed against each other, and
 * the guards its calls pass before the implementation sees them: after the
 * rate limit and the validation of the request against the contract's
 * rules. A guard throws a ProviderError to refuse a call. `interceptors`
 * run before the rate limit and the guards, for unary calls and streams.
 */
export function servedService<S extends DescService>(
  service: S,
  implementation: Partial<ServiceImpl<S>>,
  guards: readonly CallGuard[] = [],
  interceptors: readonly Interceptor[] = [],
): ServedService {
  return { service, implementation, guards, interceptors };
}

/** What `serveServices` serves, over the options every server shares. */
export interface ServeServicesOptions extends ServeOptions {
  services: readonly ServedService[];
  /**
   * Succeeds while the server can do its work: the health probe behind
   * grpc.health.v1 and /readyz. It gets a signal that aborts at
   * `healthCheckTimeoutMs`.
   */
  readiness: (signal: AbortSignal) => Promise<unknown>;
  /**
   * What the server is, for its log lines ("provider serving", "manager
   * stopped") and for the INTERNAL errors it sends ("the manager's log has
   * the details"). Default: "server".
   */
  role?: string;
  /** More fields for the "serving" log line. */
  describe?: Record<string, unknown>;
  /** Facts /readyz adds to its answer, read at each request (the manager: who leads). */
  readyzDetails?: () => Record<string, unknown>;
  /**
   * Answers the requests on the RPC port whose path is no RPC's (the
   * manager's web console). Default: 404 for them.
   */
  otherRequests?: NodeHandler;
  /**
   * Takes the HTTP/1.1 Upgrade requests on the RPC port (the manager's
   * console relay, a WebSocket). Default: refused.
   */
  upgrade?: UpgradeHandler;
}

/** The paths of the RPCs that stream both ways: their request bodies stay open. */
function bidiStreamPaths(services: readonly ServedService[]): ReadonlySet<string> {
  return new Set(
    services.flatMap(({ service }) =>
      service.methods
        .filter((m) => m.methodKind === "bidi_streaming" || m.methodKind === "client_streaming")
        .map((m) => `/${service.typeName}/${m.name}`),
    ),
  );
}

/** A running server of Connect services. */
export interface ServicesServer {
  /** A base URL of the RPC port clients can use, for example "https://10.0.0.5:9443". */
  readonly url: string;
  /** The RPC port (useful with port 0). */
  readonly port: number;
  /** The base URL of /healthz, /readyz and /metrics; undefined when turned off. */
  readonly opsUrl: string | undefined;
  /** The server's health, probed through `readiness`. */
  readonly health: Pick<HealthMonitor, "status" | "reason" | "refresh">;
  /**
   * Drains and stops: health turns NOT_SERVING, no new connections are
   * accepted, calls in flight get most of `drainTimeoutMs` to finish and are
   * then aborted; connections still open when it has passed (a client that
   * stopped reading) are destroyed. Resolves when everything is closed, within
   * `drainTimeoutMs`. Safe to call more than once.
   */
  close(): Promise<void>;
  /** Resolves when the server has stopped, by `close()` or a signal. */
  readonly closed: Promise<void>;
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Logs connections refused at the cap: the first at once, then at most one
 * line every 10 s counting those refused since, so a flood cannot flood the log.
 */
function createRefusalLog(logger: Logger, maxConnections: number): () => void {
  let refused = 0;
  let quietUntil = 0;
  return () => {
    refused++;
    const now = Date.now();
    if (now < quietUntil) return;
    quietUntil = now + 10_000;
    logger.warn(
      { refused, maxConnections },
      "refusing connections: maxConnections are open (--max-connections)",
    );
    refused = 0;
  };
}

/**
 * A URL clients can use: a server bound to every interface ("::" or
 * "0.0.0.0") is reached here through localhost.
 */
export function urlOf(scheme: string, address: AddressInfo): string {
  const unspecified = address.address === "::" || address.address === "0.0.0.0";
  const host = unspecified
    ? "localhost"
    : address.family === "IPv6"
      ? `[${address.address}]`
      : address.address;
  return `${scheme}://${host}:${address.port}`;
}

function listenHttp(server: HttpServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, ...(host ? { host } : {}) }, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Serves Connect services the way every VirtRigaud server does: Connect,
 * gRPC and gRPC-Web on one port with TLS or mutual TLS (reloaded when the
 * files change), grpc.health.v1 backed by `readiness`, /healthz, /readyz and
 * Prometheus /metrics on a second port, request validation against the
 * contract's rules, typed errors, a request id, structured logs,
 * OpenTelemetry spans and metrics per call, an optional rate limit,
 * deadlines and cancellation as the handler's AbortSignal, and a graceful
 * drain on SIGTERM and SIGINT. `serveProvider` is built on it.
 *
 * @throws ServeConfigError when the options are invalid (no TLS without
 * `insecure`, a bad address).
 */
export async function serveServices(options: ServeServicesOptions): Promise<ServicesServer> {
  const config = compileServeOptions(options);
  const logger: Logger =
    options.logger ?? createLogger({ name: options.serviceName ?? "virtrigaud" });

  const metrics =
    options.metrics ??
    createServerMetrics({
      serviceName: options.serviceName ?? "virtrigaud",
      readers: options.metricReaders ?? [],
    });
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    "@virtrigaud/contracts",
  );
  const propagator = options.propagator ?? new W3CTraceContextPropagator();

  const inflight = createInflightCalls();
  const health = createHealthMonitor({
    probe: options.readiness,
    intervalMs: config.healthCheckIntervalMs,
    timeoutMs: config.healthCheckTimeoutMs,
    logger,
  });
  const shutdown = new AbortController();
  // Every call in flight listens to it; there is no leak to warn about.
  setMaxListeners(0, shutdown.signal);

  // Outermost first. The call boundary folds the request context, error
  // normalisation and observers into one layer, and guards are synchronous:
  // every layer costs each call a promise hop.
  const outer = [
    createTracingInterceptor(tracer, propagator),
    createCallBoundaryInterceptor(
      logger,
      inflight,
      [
        createCallMetricsObserver(metrics.meter("@virtrigaud/contracts"), inflight),
        callLoggingObserver,
        ...(options.callObservers ?? []),
      ],
      options.role,
    ),
  ];
  const rateLimit = config.rateLimit
    ? [createRateLimitGuard(createRateLimiter(config.rateLimit))]
    : [];
  const handler = createNodeHandler(
    (router) => {
      for (const { service, implementation, guards, interceptors } of options.services) {
        router.service(service, implementation, {
          interceptors: [
            ...outer,
            ...interceptors,
            createGuardInterceptor([...rateLimit, validationGuard, ...guards]),
          ],
        });
      }
      router.service(
        Health,
        createHealthService(
          health,
          options.services.map((s) => s.service.typeName),
        ),
      );
    },
    {
      shutdownSignal: shutdown.signal,
      readMaxBytes: config.readMaxBytes,
      writeTimeoutMs: config.writeTimeoutMs,
      otherRequests: options.otherRequests,
    },
    logger,
  );

  const limits = {
    maxConnections: config.maxConnections,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
  };
  const rpc = await listenRpc(handler, {
    ...config.listen,
    tls: config.tls ? loadTlsFiles(config.tls) : undefined,
    requireClientCertificate: Boolean(config.tls?.clientCaFile),
    limits,
    onRefused: createRefusalLog(logger, config.maxConnections),
    onHandshakeRefused: createHandshakeRefusalLog(logger),
    openRequestPaths: bidiStreamPaths(options.services),
    ...(options.upgrade ? { upgrade: options.upgrade } : {}),
  });
  const stopWatchingTls = config.tls
    ? watchTlsFiles(config.tls, config.tlsReloadIntervalMs, logger, (material) =>
        rpc.setSecureContext(material),
      )
    : () => {};

  let ops: HttpServer | undefined;
  let opsAddress: AddressInfo | undefined;
  if (config.opsListen) {
    ops = createOpsServer(health, metrics.prometheus, limits, options.readyzDetails);
    try {
      opsAddress = await listenHttp(ops, config.opsListen.host, config.opsListen.port);
    } catch (err) {
      rpc.stopAccepting();
      rpc.destroy();
      stopWatchingTls();
      throw err;
    }
  }
  health.start();

  const url = urlOf(config.tls ? "https" : "http", rpc.address);
  logger.info(
    {
      url,
      ops: opsAddress && urlOf("http", opsAddress),
      tls: config.tls ? (config.tls.clientCaFile ? "mutual" : "server") : "off",
      ...options.describe,
    },
    `${options.role ?? "server"} serving`,
  );

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn({ signal }, "second signal: stopping now");
      shutdown.abort(new ConnectError("the server is stopping", Code.Unavailable));
      rpc.destroy();
      return;
    }
    logger.info({ signal, inflight: inflight.count }, "draining");
    void server.close();
  };
  if (config.handleSignals) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  const drain = async () => {
    health.drain();
    inflight.drain();
    rpc.stopAccepting();
    try {
      options.onDrain?.();
    } catch (err) {
      logger.warn({ err }, "onDrain failed");
    }
    // The drain timeout bounds the whole drain: calls in flight get it less
    // a reserve in which aborted calls end, responses flush and connections close.
    const deadline = performance.now() + config.drainTimeoutMs;
    const reserve = Math.min(3000, config.drainTimeoutMs * 0.3);
    const left = () => Math.max(0, deadline - performance.now());
    if (!(await within(inflight.idle(), left() - reserve))) {
      logger.warn({ inflight: inflight.count }, "drain timeout: aborting calls in flight");
      shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      await within(inflight.idle(), left() / 3);
    }
    // A second each at most, as before the deadline: a response a client
    // stopped reading must not hold a drain whose calls are all done.
    await rpc.responsesSent(Math.min(1000, left() / 2));
    await rpc.close(Math.min(1000, left()));
    stopWatchingTls();
    health.stop();
    if (ops) {
      ops.closeAllConnections();
      await new Promise((resolve) => ops?.close(resolve));
    }
    await metrics
      .shutdown()
      .catch((err: unknown) => logger.warn({ err }, "metrics shutdown failed"));
    if (config.handleSignals) {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
    logger.info(`${options.role ?? "server"} stopped`);
    resolveClosed();
  };

  const server: ServicesServer = {
    url,
    port: rpc.address.port,
    opsUrl: opsAddress && urlOf("http", opsAddress),
    health,
    close: () => (closing ??= drain()),
    closed,
  };
  return server;
}
