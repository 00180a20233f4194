import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  context,
  trace,
} from "@opentelemetry/api";

const headerSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/**
 * Opens a CLIENT span per call as a child of the active span and sends its
 * context in W3C traceparent headers, so the server's span joins the trace.
 */
export function createClientTracingInterceptor(
  tracer: Tracer,
  propagator: TextMapPropagator,
): Interceptor {
  return (next) => async (req) => {
    const span = tracer.startSpan(`${req.service.typeName}/${req.method.name}`, {
      kind: SpanKind.CLIENT,
      attributes: { "rpc.service": req.service.typeName, "rpc.method": req.method.name },
    });
    propagator.inject(trace.setSpan(context.active(), span), req.header, headerSetter);
    try {
      const res = await next(req);
      span.setAttribute("rpc.grpc.status_code", 0);
      return res;
    } catch (thrown) {
      const error = ConnectError.from(thrown);
      span.setAttribute("rpc.grpc.status_code", error.code);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: `${Code[error.code]}: ${error.rawMessage}`,
      });
      throw thrown;
    } finally {
      span.end();
    }
  };
}
