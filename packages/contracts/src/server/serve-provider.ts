import { setMaxListeners } from "node:events";
import { type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import {
  type Capabilities,
  CapabilitiesSchema,
  GetCapabilitiesRequestSchema,
  GetCapabilitiesResponseSchema,
  ProviderService,
  ValidateRequestSchema,
} from "@virtrigaud/proto";
import { Health } from "@virtrigaud/proto/health";
import { untilAborted } from "../abort.js";
import { ProviderError } from "../errors/provider-error.js";
import { createRateLimiter } from "../limits/rate-limiter.js";
import { type Logger, createLogger } from "../logging/create-logger.js";
import type { Provider, ProviderContext, ProviderMethodName } from "../provider.js";
import { checkCapabilityAgreement } from "./capabilities.js";
import { createProviderServiceImpl } from "./provider-routes.js";
import { type HealthMonitor, createHealthMonitor, createHealthService } from "./health.js";
import { createInflightCalls } from "./inflight-calls.js";
import { createCallBoundaryInterceptor } from "./interceptors/call-boundary.js";
import { callLoggingObserver } from "./interceptors/call-logging.js";
import { createCallMetricsObserver } from "./interceptors/call-metrics.js";
import { createCapabilityGuard } from "./interceptors/capability-gate.js";
import { createGuardInterceptor } from "./interceptors/guards.js";
import { createRateLimitGuard } from "./interceptors/rate-limit.js";
import { createTracingInterceptor } from "./interceptors/tracing.js";
import { validationGuard } from "./interceptors/validation.js";
import { createNodeHandler } from "./node-handler.js";
import { createOpsServer } from "./ops-server.js";
import { listenRpc } from "./rpc-listener.js";
import {
  ServeConfigError,
  type ServeProviderOptions,
  compileServeOptions,
} from "./serve-options.js";
import { loadTlsFiles, watchTlsFiles } from "./tls.js";

/** A running provider server. */
export interface ProviderServer {
  /** The base URL of the RPC port, for example "https://10.0.0.5:9443". */
  readonly url: string;
  /** The RPC port (useful with port 0). */
  readonly port: number;
  /** The base URL of /healthz, /readyz and /metrics; undefined when turned off. */
  readonly opsUrl: string | undefined;
  /** The capabilities read from the provider at start-up. */
  readonly capabilities: Capabilities;
  /** The provider's health, probed through Validate. */
  readonly health: Pick<HealthMonitor, "status" | "reason" | "refresh">;
  /**
   * Drains and stops: health turns NOT_SERVING, no new connections are
   * accepted, calls in flight get `drainTimeoutMs` to finish and are then
   * aborted. Resolves when everything is closed. Safe to call more than once.
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
 * A URL clients can use: a server bound to every interface ("::" or
 * "0.0.0.0") is reached here through localhost.
 */
function urlOf(scheme: string, address: AddressInfo): string {
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

async function readCapabilities(provider: Provider, ctx: ProviderContext): Promise<Capabilities> {
  const answer = await untilAborted(
    provider.getCapabilities(create(GetCapabilitiesRequestSchema), ctx),
    ctx.signal,
  ).catch((err: unknown) => {
    throw new ServeConfigError(
      `the provider's getCapabilities failed: ${ProviderError.from(err).message}`,
      {
        cause: err,
      },
    );
  });
  const response = create(GetCapabilitiesResponseSchema, answer);
  return response.capabilities ?? create(CapabilitiesSchema);
}

/**
 * Serves a provider: Connect, gRPC and gRPC-Web on one port with TLS or
 * mutual TLS (reloaded when the files change), grpc.health.v1 backed by the
 * provider's Validate, /healthz, /readyz and Prometheus /metrics on a second
 * port, request validation against the contract's rules, capability
 * enforcement, typed errors, a request id, structured logs, OpenTelemetry
 * spans and metrics per call, an optional rate limit, deadlines and
 * cancellation as the provider's AbortSignal, and a graceful drain on
 * SIGTERM and SIGINT.
 *
 * @throws ServeConfigError when the options are invalid (no TLS without
 * `insecure`, a bad address), or when the provider's methods disagree with
 * the capabilities it declares.
 */
export async function serveProvider(
  provider: Provider,
  options: ServeProviderOptions = {},
): Promise<ProviderServer> {
  const config = compileServeOptions(options);
  const logger: Logger = options.logger ?? createLogger({ name: "virtrigaud-provider" });
  const internalContext = (method: ProviderMethodName, signal: AbortSignal): ProviderContext => ({
    signal,
    deadline: undefined,
    requestId: `internal-${method}`,
    method,
    logger,
  });

  const capabilities = await readCapabilities(
    provider,
    internalContext("getCapabilities", AbortSignal.timeout(config.healthCheckTimeoutMs)),
  );
  const agreement = checkCapabilityAgreement(provider, capabilities);
  if (agreement.errors.length) {
    throw new ServeConfigError(
      `the provider disagrees with its capabilities: ${agreement.errors.join("; ")}`,
    );
  }
  for (const warning of agreement.warnings) logger.warn(warning);

  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({
    resource: resourceFromAttributes({
      "service.name":
        options.serviceName ?? `virtrigaud-provider-${capabilities.providerType || "unknown"}`,
    }),
    readers: [prometheus, ...(options.metricReaders ?? [])],
  });
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    "@virtrigaud/contracts",
  );
  const propagator = options.propagator ?? new W3CTraceContextPropagator();

  const inflight = createInflightCalls();
  const health = createHealthMonitor({
    probe: (signal) =>
      provider.validate(create(ValidateRequestSchema), internalContext("validate", signal)),
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
  const interceptors = [
    createTracingInterceptor(tracer, propagator),
    createCallBoundaryInterceptor(logger, inflight, [
      createCallMetricsObserver(meterProvider.getMeter("@virtrigaud/contracts"), inflight),
      callLoggingObserver,
    ]),
    createGuardInterceptor([
      ...(config.rateLimit ? [createRateLimitGuard(createRateLimiter(config.rateLimit))] : []),
      validationGuard,
      createCapabilityGuard(capabilities),
    ]),
  ];

  const handler = createNodeHandler(
    (router) => {
      router.service(ProviderService, createProviderServiceImpl(provider, capabilities, logger), {
        interceptors,
      });
      router.service(Health, createHealthService(health));
    },
    { shutdownSignal: shutdown.signal },
    logger,
  );

  const rpc = await listenRpc(handler, {
    ...config.listen,
    tls: config.tls ? loadTlsFiles(config.tls) : undefined,
    requireClientCertificate: Boolean(config.tls?.clientCaFile),
  });
  const stopWatchingTls = config.tls
    ? watchTlsFiles(config.tls, config.tlsReloadIntervalMs, logger, (material) =>
        rpc.setSecureContext(material),
      )
    : () => {};

  let ops: HttpServer | undefined;
  let opsAddress: AddressInfo | undefined;
  if (config.opsListen) {
    ops = createOpsServer(health, prometheus);
    try {
      opsAddress = await listenHttp(ops, config.opsListen.host, config.opsListen.port);
    } catch (err) {
      rpc.destroy();
      rpc.stopAccepting();
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
      providerType: capabilities.providerType,
    },
    "provider serving",
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
    rpc.stopAccepting();
    if (!(await within(inflight.idle(), config.drainTimeoutMs))) {
      logger.warn({ inflight: inflight.count }, "drain timeout: aborting calls in flight");
      shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      await within(inflight.idle(), 1000);
    }
    await rpc.responsesSent(1000);
    rpc.destroy();
    stopWatchingTls();
    health.stop();
    if (ops) {
      ops.closeAllConnections();
      await new Promise((resolve) => ops?.close(resolve));
    }
    await meterProvider
      .shutdown()
      .catch((err: unknown) => logger.warn({ err }, "metrics shutdown failed"));
    if (config.handleSignals) {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
    logger.info("provider stopped");
    resolveClosed();
  };

  const server: ProviderServer = {
    url,
    port: rpc.address.port,
    opsUrl: opsAddress && urlOf("http", opsAddress),
    capabilities,
    health,
    close: () => (closing ??= drain()),
    closed,
  };
  return server;
}
