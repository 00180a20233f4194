import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
  context,
  trace,
} from "@opentelemetry/api";
import { protocolOf } from "../call-context.js";

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

/**
 * Opens a SERVER span per call, continuing the caller's W3C trace context,
 * and makes it the active span while the provider runs, so the provider's
 * own spans (backend calls) become its children.
 */
export function createTracingInterceptor(
  tracer: Tracer,
  propagator: TextMapPropagator,
): Interceptor {
  return (next) => async (req) => {
    const parent = propagator.extract(ROOT_CONTEXT, req.header, headerGetter);
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": protocolOf(req.header),
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
        },
      },
      parent,
    );
    if (!span.isRecording()) {
      // Nothing to record (no tracer provider, or not sampled): skip the
      // bookkeeping, but still hand a caller's trace context on to the provider.
      return trace.getSpanContext(parent)
        ? context.with(trace.setSpan(parent, span), () => next(req))
        : next(req);
    }
    try {
      const res = await context.with(trace.setSpan(parent, span), () => next(req));
      span.setAttribute("rpc.grpc.status_code", 0); // OK
      return res;
    } catch (thrown) {
      const error = ConnectError.from(thrown);
      span.setAttribute("rpc.grpc.status_code", error.code);
      if (serverFaults.has(error.code)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
      }
      throw thrown;
    } finally {
      span.end();
    }
  };
}
