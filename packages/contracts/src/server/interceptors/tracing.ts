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

/**
 * Opens a SERVER span per call, continuing the caller's W3C trace context,
 * and makes it the active span while the handler runs (for a server stream,
 * while it makes each message), so the handler's own spans (backend calls)
 * become its children. A stream's span ends with its last message.
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
    const active = trace.setSpan(parent, span);
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
  };
}
