import type { LookupFunction } from "node:net";
import {
  type DescMethodBiDiStreaming,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
  type MessageInitShape,
  type MessageShape,
  create,
} from "@bufbuild/protobuf";
import {
  type CallOptions,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
  createClient,
  createContextValues,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { type TextMapPropagator, type TracerProvider, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { Clock } from "../clock.js";
import { ProviderError } from "../errors/provider-error.js";
import { loadTlsMaterial } from "./client-tls.js";
import { http2WindowSettings } from "../http2-windows.js";
import { GuardedSessionManager } from "./guarded-session-manager.js";
import { type RetryOptions, withRetries } from "./retry-policy.js";
import { createClientTracingInterceptor } from "./trace-propagation.js";
import { type CallTarget, classifyCallError } from "./transport-errors.js";

/** The wire protocol a client speaks. All three reach the same server port. */
export type ClientProtocol = "connect" | "grpc" | "grpc-web";

/** TLS toward the server: PEM contents, or paths to read them from. */
export interface ClientTlsOptions {
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
  /**
   * Do not verify the server's certificate, for this client only. For tests
   * and first contact with a self-signed server; never the default.
   */
  insecureSkipVerify?: boolean;
}

/** Options of `createServiceClient`. */
export interface ServiceClientOptions {
  /** Default: "connect". */
  protocol?: ClientProtocol;
  /** Default: "2". HTTP/1.1 works with the Connect and gRPC-Web protocols. */
  httpVersion?: "1.1" | "2";
  /** TLS options for https endpoints. */
  tls?: ClientTlsOptions;
  /** Deadlines per RPC in milliseconds, by the method's local name ("listVMs"). A call's own `timeoutMs` wins. */
  timeouts?: Record<string, number | undefined>;
  /** The deadline of RPCs `timeouts` does not name. Default: 30000 ms. */
  defaultTimeoutMs?: number;
  /** Retries of RETRYABLE, UNAVAILABLE and RESOURCE_EXHAUSTED failures of unary calls; `false` turns them off. */
  retry?: RetryOptions | false;
  /** Headers sent with every call, for example authorization. */
  headers?: Record<string, string>;
  /** Connect interceptors, run inside the SDK's own: once per attempt, as the request goes on the wire. */
  interceptors?: Interceptor[];
  /**
   * Connect interceptors around each unary call as its caller sees it: once
   * per call, outside the retries and the deadline, so they see a call that
   * took three attempts once, and its failure as the `ProviderError` it ends
   * with. For what belongs to the call rather than to an attempt: a circuit
   * breaker, a rate limit, counting calls. The first is the outermost.
   * Server-streaming calls do not pass through them.
   */
  callInterceptors?: Interceptor[];
  /** Default: the global tracer provider. */
  tracerProvider?: TracerProvider;
  /** Writes the trace context into calls. Default: W3C Trace Context. */
  propagator?: TextMapPropagator;
  /**
   * Ends every call of this client when it aborts: calls in flight, waiting
   * to retry, or not yet sent. A call's own `signal` ends that call too. It
   * is cheaper than giving each call a signal combined with this one.
   */
  signal?: AbortSignal;
  /** For retry backoff. */
  clock?: Clock;
  /**
   * Resolves the endpoint's host name for each new connection, as Node's
   * `net.connect` option `lookup`: to check where a name points when it is
   * used, not before (the manager's provider endpoint allowlist). An error
   * it passes fails the connection's calls. Default: `dns.lookup`.
   */
  lookup?: LookupFunction;
  /**
   * How transport errors name the server: "the provider", "the manager".
   * Default: "the server". The endpoint follows it.
   */
  peerName?: string;
}

type Methods<S extends DescService> = S["method"];

/**
 * A typed client of a service: unary methods return promises, server-streaming
 * methods async iterables, and bidi-streaming ones take an async iterable of
 * requests too. Every failure is a `ProviderError`.
 */
export type ServiceClient<S extends DescService> = {
  [M in keyof Methods<S>]: Methods<S>[M] extends DescMethodUnary<infer I, infer O>
    ? (request: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : Methods<S>[M] extends DescMethodServerStreaming<infer I, infer O>
      ? (request: MessageInitShape<I>, options?: CallOptions) => AsyncIterable<MessageShape<O>>
      : Methods<S>[M] extends DescMethodBiDiStreaming<infer I, infer O>
        ? (
            requests: AsyncIterable<MessageInitShape<I>>,
            options?: CallOptions,
          ) => AsyncIterable<MessageShape<O>>
        : never;
} & {
  /** Closes the client's connection. */
  close(): void;
};

/** Node's TLS options for `tls`, reading each file once and checking what it holds. */
function tlsNodeOptions(tls: ClientTlsOptions) {
  const { ca, cert, key } = loadTlsMaterial({
    ca: { value: tls.ca, file: tls.caFile },
    cert: { value: tls.cert, file: tls.certFile },
    key: { value: tls.key, file: tls.keyFile },
  });
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(tls.serverName ? { servername: tls.serverName } : {}),
    ...(tls.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
  };
}

function staticHeaders(headers: Record<string, string>): Interceptor {
  const fixed = Object.entries(headers);
  return (next) => (req) => {
    for (const [name, value] of fixed) if (!req.header.has(name)) req.header.set(name, value);
    return next(req);
  };
}

/**
 * A server-streaming call, opened when it is first read, with typed errors.
 * However the reader stops (to the end, on an error, or by breaking out
 * early) the call is cancelled. Its deadline is an unreferenced timer of its
 * own rather than Connect's `timeoutMs`, whose timer outlives a stream the
 * reader abandons and keeps the process alive until it fires; the server
 * then sees the deadline as a cancel, not in a header.
 */
async function* streamCall<T>(
  open: (options: CallOptions) => AsyncIterable<T>,
  { timeoutMs, signal, ...callOptions }: CallOptions,
  target: CallTarget,
): AsyncIterable<T> {
  const deadline = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const bounded = signal && deadline ? AbortSignal.any([signal, deadline]) : (signal ?? deadline);
  const stop = new AbortController();
  try {
    yield* open({
      ...callOptions,
      signal: bounded ? AbortSignal.any([bounded, stop.signal]) : stop.signal,
    });
  } catch (thrown) {
    throw ProviderError.from(classifyCallError(thrown, bounded, target));
  } finally {
    stop.abort();
  }
}

type UnaryCall = (request: unknown, options: CallOptions) => Promise<unknown>;
type Next = Parameters<Interceptor>[0];

/**
 * `call` behind `interceptors`, the first outermost, as Connect applies
 * them. They get a `UnaryRequest` (the message normalised to the method's
 * input, the caller's headers, signal and context values), and what they
 * pass on is what `call` is given.
 */
function interceptCall(
  service: DescService,
  method: DescMethodUnary,
  url: string,
  interceptors: Interceptor[],
  call: UnaryCall,
): UnaryCall {
  return async (request, options) => {
    // Interceptors always see a signal; the call gets one only when the caller or an interceptor gave one.
    const signal = options.signal ?? new AbortController().signal;
    const unset = options.signal ? undefined : signal;
    const innermost: Next = async (req) => {
      const message = await call(req.message, {
        ...options,
        headers: req.header,
        contextValues: req.contextValues,
        ...(req.signal === unset ? {} : { signal: req.signal }),
      });
      const response: UnaryResponse = {
        stream: false,
        service,
        method,
        header: new Headers(),
        trailer: new Headers(),
        message: message as UnaryResponse["message"],
      };
      return response;
    };
    const req: UnaryRequest = {
      stream: false,
      service,
      method,
      requestMethod: "POST",
      url,
      signal,
      header: new Headers(options.headers as ConstructorParameters<typeof Headers>[0]),
      contextValues: options.contextValues ?? createContextValues(),
      message: create(method.input, request as MessageInitShape<DescMethodUnary["input"]>),
    };
    const response = await interceptors.reduceRight(
      (next, interceptor) => interceptor(next),
      innermost,
    )(req);
    return response.message;
  };
}

/**
 * Creates a client of any Connect service at `endpoint` ("http://host:port"
 * for plaintext HTTP/2, "https://host:port" for TLS): typed errors rebuilt
 * from the server's detail, a deadline per RPC, retries with jittered
 * backoff of retryable unary failures, TLS and mutual TLS, and W3C trace
 * propagation. `createProviderClient` is built on it.
 *
 * A server that is not what the endpoint should be fails each call, never
 * the process: an HTTP/1.1 server, or one that does not speak TLS at an
 * https endpoint, with UNSUPPORTED; a server of another service with
 * UNSUPPORTED; a certificate either side refuses with UNAUTHENTICATED
 * (`transportFailureOf` tells them apart).
 *
 * @throws ProviderError INVALID_SPEC naming the TLS option at fault
 * ("tls.keyFile"): a file that cannot be read, a CA file without
 * certificates, a certificate or key that is not one, an encrypted key, a
 * key that does not match the certificate, one of them without the other.
 */
export function createServiceClient<S extends DescService>(
  service: S,
  endpoint: string,
  options: ServiceClientOptions = {},
): ServiceClient<S> {
  const nodeOptions = {
    ...(options.tls ? tlsNodeOptions(options.tls) : {}),
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
    "@virtrigaud/contracts",
  );
  const interceptors: Interceptor[] = [
    createClientTracingInterceptor(tracer, options.propagator ?? new W3CTraceContextPropagator()),
    ...(options.headers ? [staticHeaders(options.headers)] : []),
    ...(options.interceptors ?? []),
  ];

  const sessionManager =
    options.httpVersion === "1.1"
      ? undefined
      : new GuardedSessionManager(endpoint, {}, { ...nodeOptions, settings: http2WindowSettings });
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
  const peer = `${options.peerName ?? "the server"} at ${endpoint}`;
  const target = (method: { name: string }): CallTarget => ({
    peer,
    endpoint,
    procedure: `${service.typeName}/${method.name}`,
  });
  const raw = createClient(service, transport) as unknown as Record<
    string,
    (request: unknown, options: CallOptions) => Promise<unknown> | AsyncIterable<unknown>
  >;

  const clientSignal = options.signal;
  // A call's options with the signal that ends it: the call's, the client's, or both combined.
  const withClientSignal = (callOptions: CallOptions): CallOptions =>
    !clientSignal || callOptions.signal === clientSignal
      ? callOptions
      : {
          ...callOptions,
          signal: callOptions.signal
            ? AbortSignal.any([callOptions.signal, clientSignal])
            : clientSignal,
        };

  // The unary calls in flight, each with a signal of its own that the
  // client's ends: one listener on the client's signal for all of them. A
  // listener on it per call would cost each call a walk of all the others'
  // (an EventTarget's listeners are a list it searches on every add), which
  // at a few hundred calls at once was 2% of a manager's CPU.
  const unaryCalls = new Set<AbortController>();
  clientSignal?.addEventListener(
    "abort",
    () => {
      for (const call of unaryCalls) call.abort(clientSignal.reason);
    },
    { once: true },
  );
  const endedWithClient = async <T>(
    callOptions: CallOptions,
    run: (options: CallOptions) => Promise<T>,
  ): Promise<T> => {
    const own = callOptions.signal === clientSignal ? undefined : callOptions.signal;
    const call = new AbortController();
    if (clientSignal?.aborted) call.abort(clientSignal.reason);
    unaryCalls.add(call);
    try {
      return await run({
        ...callOptions,
        signal: own ? AbortSignal.any([own, call.signal]) : call.signal,
      });
    } finally {
      unaryCalls.delete(call);
    }
  };

  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = method.localName;
    const call = raw[name];
    if (!call) continue;
    if (method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming") {
      // A bidi stream's request is the iterable of its requests; both need HTTP/2.
      client[name] = (request: unknown, callOptions: CallOptions = {}) =>
        streamCall(
          (streamOptions) => call(request, streamOptions) as AsyncIterable<unknown>,
          withClientSignal(callOptions),
          target(method),
        );
      continue;
    }
    if (method.methodKind !== "unary") continue;
    const defaultTimeout = options.timeouts?.[name] ?? options.defaultTimeoutMs ?? 30_000;
    const unary: UnaryCall = (request, callOptions) =>
      withRetries(
        (remainingMs) => {
          if (remainingMs !== undefined && remainingMs <= 0) {
            throw ProviderError.deadlineExceeded(
              `${name}: the deadline passed before the call could be sent`,
            );
          }
          return (
            call(request, {
              ...callOptions,
              ...(remainingMs === undefined ? {} : { timeoutMs: remainingMs }),
            }) as Promise<unknown>
          ).catch((thrown: unknown) => {
            throw classifyCallError(thrown, callOptions.signal, target(method));
          });
        },
        {
          retry: options.retry ?? {},
          timeoutMs: callOptions.timeoutMs ?? defaultTimeout,
          signal: callOptions.signal,
          ...(options.clock ? { clock: options.clock } : {}),
        },
      );
    const intercepted = options.callInterceptors?.length
      ? interceptCall(
          service,
          method as DescMethodUnary,
          `${endpoint}/${service.typeName}/${method.name}`,
          options.callInterceptors,
          unary,
        )
      : unary;
    client[name] = clientSignal
      ? (request: unknown, callOptions: CallOptions = {}) =>
          endedWithClient(callOptions, (options) => intercepted(request, options))
      : (request: unknown, callOptions: CallOptions = {}) => intercepted(request, callOptions);
  }
  client["close"] = () => sessionManager?.abort();
  return client as ServiceClient<S>;
}
