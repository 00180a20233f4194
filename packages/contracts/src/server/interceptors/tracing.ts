import {
  Code,
  ConnectError,
  type Interceptor,
  type StreamRequest,
  type UnaryRequest,
} from "@connectrpc/connect";
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
  context,
  trace,
} from "@opentelemetry/api";
import { protocolOf } from "../call-context.js";
import { observeStream } from "./observe-stream.js";

const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

// Codes that mean the server failed, after OpenTelemetry's gRPC conventions;
// the others are the caller's doing and leave the span's status unset.
const serverFaults = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** What every span of a method over a protocol starts with, made once. */
interface SpanShape {
  name: string;
  options: SpanOptions;
}

/** The span shapes of a method, by protocol. */
type ShapesOfMethod = Map<string, SpanShape>;

/**
 * Opens a SERVER span per call, continuing the caller's W3C trace context,
 * and makes it the active span while the handler runs (for a server stream,
 * while it makes each message), so the handler's own spans (backend calls)
 * become its children. A stream's span ends with its last message. A span
 * that records nothing (no tracer provider, or not sampled) costs no
 * promise of its own: the call goes on as it is.
 */
export function createTracingInterceptor(
  tracer: Tracer,
  propagator: TextMapPropagator,
): Interceptor {
  // The span's name and attributes depend only on the method and protocol:
  // one object of each per pair, not per call (the SDK copies attributes).
  const shapes = new WeakMap<object, ShapesOfMethod>();
  const shapeOf = (req: UnaryRequest | StreamRequest): SpanShape => {
    const protocol = protocolOf(req.header);
    let byProtocol = shapes.get(req.method);
    if (!byProtocol) {
      byProtocol = new Map<string, SpanShape>();
      shapes.set(req.method, byProtocol);
    }
    let shape = byProtocol.get(protocol);
    if (!shape) {
      shape = {
        name: `${req.service.typeName}/${req.method.name}`,
        options: {
          kind: SpanKind.SERVER,
          attributes: {
            "rpc.system": protocol,
            "rpc.service": req.service.typeName,
            "rpc.method": req.method.name,
          },
        },
      };
      byProtocol.set(protocol, shape);
    }
    return shape;
  };
  return (next) => (req) => {
    const parent = propagator.extract(ROOT_CONTEXT, req.header, headerGetter);
    const { name, options } = shapeOf(req);
    const span = tracer.startSpan(name, options, parent);
    if (!span.isRecording()) {
      // Nothing to record: skip the bookkeeping, but still hand a caller's
      // trace context on to the provider.
      return trace.getSpanContext(parent)
        ? context.with(trace.setSpan(parent, span), () => next(req))
        : next(req);
    }
    return traced(next, req, span, trace.setSpan(parent, span));
  };
}

/** The call run with `span` active, the span ended with the call (a stream's with its last message). */
async function traced(
  next: Parameters<Interceptor>[0],
  req: UnaryRequest | StreamRequest,
  span: Span,
  active: Context,
): ReturnType<ReturnType<Interceptor>> {
  const finish = (error: ConnectError | undefined) => {
    span.setAttribute("rpc.grpc.status_code", error?.code ?? 0);
    if (error && serverFaults.has(error.code)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
    }
    span.end();
  };
  let res;
  try {
    res = await context.with(active, () => next(req));
  } catch (thrown) {
    finish(ConnectError.from(thrown));
    throw thrown;
  }
  if (!res.stream) {
    finish(undefined);
    return res;
  }
  return {
    ...res,
    message: observeStream(
      res.message,
      req.signal,
      (thrown) => ConnectError.from(thrown),
      finish,
      (step) => context.with(active, step),
    ),
  };
}
