import { readFileSync } from "node:fs";
import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type Interceptor,
  type Transport,
  createClient,
} from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { type TextMapPropagator, type TracerProvider, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { ProviderService, type Task, type TaskRef } from "@virtrigaud/proto";
import type { Clock } from "../clock.js";
import { ProviderError } from "../errors/provider-error.js";
import type { ProviderMethodName } from "../provider.js";
import { type RetryOptions, withRetries } from "./retry-policy.js";
import { classifyCallError } from "./transport-errors.js";
import { createClientTracingInterceptor } from "./trace-propagation.js";
import { type WaitForTaskOptions, waitForTask } from "./wait-for-task.js";

/** The wire protocol a client speaks. All three reach the same server port. */
export type ProviderClientProtocol = "connect" | "grpc" | "grpc-web";

/** TLS toward the provider: PEM contents, or paths to read them from. */
export interface ProviderClientTlsOptions {
  /** CAs that sign the server's certificate. Default: Node's bundled roots. */
  ca?: string | Buffer;
  caFile?: string;
  /** A client certificate, for mutual TLS. */
  cert?: string | Buffer;
  certFile?: string;
  /** The client certificate's key, for mutual TLS. */
  key?: string | Buffer;
  keyFile?: string;
  /** The name to verify the server's certificate against, when it differs from the URL's host. */
  serverName?: string;
}

/** Options of `createProviderClient`. */
export interface ProviderClientOptions {
  /** Default: "connect". */
  protocol?: ProviderClientProtocol;
  /** Default: "2". HTTP/1.1 works with the Connect and gRPC-Web protocols. */
  httpVersion?: "1.1" | "2";
  /** TLS options for https endpoints. */
  tls?: ProviderClientTlsOptions;
  /** Deadlines per RPC in milliseconds, over `defaultTimeoutsMs`. A call's own `timeoutMs` wins. */
  timeouts?: Partial<Record<ProviderMethodName, number>>;
  /** Retries of RETRYABLE, UNAVAILABLE and RESOURCE_EXHAUSTED failures; `false` turns them off. */
  retry?: RetryOptions | false;
  /** Headers sent with every call, for example authorization. */
  headers?: Record<string, string>;
  /** Connect interceptors, run inside the SDK's own. */
  interceptors?: Interceptor[];
  /** Default: the global tracer provider. */
  tracerProvider?: TracerProvider;
  /** Writes the trace context into calls. Default: W3C Trace Context. */
  propagator?: TextMapPropagator;
  /** For retry backoff and task polling. */
  clock?: Clock;
}

/** Deadlines of each RPC when neither the options nor the call set one. */
export const defaultTimeoutsMs: Readonly<Record<ProviderMethodName, number>> = {
  validate: 15_000,
  getCapabilities: 15_000,
  describe: 15_000,
  listVMs: 60_000,
  getTask: 15_000,
  snapshotList: 15_000,
  create: 120_000,
  delete: 120_000,
  power: 120_000,
  reconfigure: 120_000,
  snapshotCreate: 120_000,
  snapshotDelete: 120_000,
  snapshotRevert: 120_000,
  clone: 120_000,
  imagePrepare: 120_000,
};

type Methods = (typeof ProviderService)["method"];

/**
 * A typed ProviderService client. Every method throws `ProviderError`
 * rebuilt from the server's error detail.
 */
export type ProviderClient = {
  [M in ProviderMethodName]: (
    request: MessageInitShape<Methods[M]["input"]>,
    options?: CallOptions,
  ) => Promise<MessageShape<Methods[M]["output"]>>;
} & {
  /**
   * Polls a task until it is done. Returns undefined at once when the
   * operation returned no task (it finished synchronously).
   *
   * @throws ProviderError the task's own typed error when it failed.
   */
  waitForTask(
    task: TaskRef | string | undefined,
    options?: WaitForTaskOptions,
  ): Promise<Task | undefined>;
  /** Closes the client's connection. */
  close(): void;
};

function pem(
  value: string | Buffer | undefined,
  file: string | undefined,
): string | Buffer | undefined {
  return value ?? (file ? readFileSync(file) : undefined);
}

function staticHeaders(headers: Record<string, string>): Interceptor {
  const fixed = Object.entries(headers);
  return (next) => (req) => {
    for (const [name, value] of fixed) if (!req.header.has(name)) req.header.set(name, value);
    return next(req);
  };
}

/**
 * Creates a client of a provider at `endpoint` ("http://host:port" for
 * plaintext HTTP/2, "https://host:port" for TLS).
 *
 * @throws Error when a TLS file cannot be read.
 */
export function createProviderClient(
  endpoint: string,
  options: ProviderClientOptions = {},
): ProviderClient {
  const tls = options.tls;
  const nodeOptions = tls
    ? {
        ...(pem(tls.ca, tls.caFile) ? { ca: pem(tls.ca, tls.caFile) } : {}),
        ...(pem(tls.cert, tls.certFile) ? { cert: pem(tls.cert, tls.certFile) } : {}),
        ...(pem(tls.key, tls.keyFile) ? { key: pem(tls.key, tls.keyFile) } : {}),
        ...(tls.serverName ? { servername: tls.serverName } : {}),
      }
    : {};
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    "@virtrigaud/contracts",
  );
  const interceptors: Interceptor[] = [
    createClientTracingInterceptor(tracer, options.propagator ?? new W3CTraceContextPropagator()),
    ...(options.headers ? [staticHeaders(options.headers)] : []),
    ...(options.interceptors ?? []),
  ];

  const sessionManager =
    options.httpVersion === "1.1" ? undefined : new Http2SessionManager(endpoint, {}, nodeOptions);
  const common = { baseUrl: endpoint, interceptors };
  const http = sessionManager
    ? { httpVersion: "2" as const, sessionManager }
    : { httpVersion: "1.1" as const, nodeOptions };
  let transport: Transport;
  switch (options.protocol ?? "connect") {
    case "grpc":
      transport = createGrpcTransport({ ...common, ...http });
      break;
    case "grpc-web":
      transport = createGrpcWebTransport({ ...common, ...http });
      break;
    case "connect":
      transport = createConnectTransport({ ...common, ...http });
      break;
  }
  const raw = createClient(ProviderService, transport) as unknown as Record<
    ProviderMethodName,
    (request: unknown, options: CallOptions) => Promise<unknown>
  >;

  const client: Record<string, unknown> = {};
  for (const { localName } of ProviderService.methods) {
    const name = localName as ProviderMethodName;
    const defaultTimeout = options.timeouts?.[name] ?? defaultTimeoutsMs[name];
    client[name] = (request: unknown, callOptions: CallOptions = {}) =>
      withRetries(
        (remainingMs) => {
          if (remainingMs !== undefined && remainingMs <= 0) {
            throw ProviderError.deadlineExceeded(
              `${name}: the deadline passed before the call could be sent`,
            );
          }
          return raw[name](request, {
            ...callOptions,
            ...(remainingMs === undefined ? {} : { timeoutMs: remainingMs }),
          }).catch((thrown: unknown) => {
            throw classifyCallError(thrown, callOptions.signal);
          });
        },
        {
          retry: options.retry ?? {},
          timeoutMs: callOptions.timeoutMs ?? defaultTimeout,
          signal: callOptions.signal,
          ...(options.clock ? { clock: options.clock } : {}),
        },
      );
  }
  const typed = client as ProviderClient;
  typed.waitForTask = (task, waitOptions = {}) =>
    waitForTask(typed.getTask, task, {
      ...(options.clock ? { clock: options.clock } : {}),
      ...waitOptions,
    });
  typed.close = () => sessionManager?.abort();
  return typed;
}
