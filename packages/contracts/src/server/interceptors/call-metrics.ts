import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Meter } from "@opentelemetry/api";
import { protocolOf } from "../call-context.js";

/** The Connect code of a call's outcome in snake case, as in the Connect protocol: "ok", "not_found", ... */
function codeName(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return (Code[code] ?? "unknown").replace(
    /[A-Z]/g,
    (c, i: number) => (i ? "_" : "") + c.toLowerCase(),
  );
}

/**
 * Records per-call metrics: `rpc.server.duration` (a histogram in
 * milliseconds) and `rpc.server.active_requests`, by protocol, method and
 * outcome code.
 */
export function createCallMetricsInterceptor(meter: Meter): Interceptor {
  const duration = meter.createHistogram("rpc.server.duration", {
    description: "Duration of RPCs served, by method and outcome.",
    unit: "ms",
  });
  const active = meter.createUpDownCounter("rpc.server.active_requests", {
    description: "RPCs being served now.",
  });
  return (next) => async (req) => {
    const start = performance.now();
    const attributes = {
      "rpc.system": protocolOf(req.header),
      "rpc.service": req.service.typeName,
      "rpc.method": req.method.name,
    };
    active.add(1, attributes);
    let code: Code | undefined;
    try {
      return await next(req);
    } catch (thrown) {
      code = ConnectError.from(thrown).code;
      throw thrown;
    } finally {
      active.add(-1, attributes);
      duration.record(performance.now() - start, {
        ...attributes,
        "rpc.response.status_code": codeName(code),
      });
    }
  };
}
