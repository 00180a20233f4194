import { Code } from "@connectrpc/connect";
import type { Attributes, Meter } from "@opentelemetry/api";
import { protocolOf } from "../call-context.js";
import type { InflightCalls } from "../inflight-calls.js";
import type { CallObserver } from "./observers.js";

/** The Connect code of a call's outcome in snake case, as in the Connect protocol: "ok", "not_found", ... */
function codeName(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return (Code[code] ?? "unknown").replace(
    /[A-Z]/g,
    (c, i: number) => (i ? "_" : "") + c.toLowerCase(),
  );
}

/**
 * Records per-call metrics: `rpc.server.duration`, a histogram in
 * milliseconds by protocol, method and outcome code, and
 * `rpc.server.active_requests`, the calls in flight, read when metrics are
 * collected rather than counted up and down on every call.
 */
export function createCallMetricsObserver(meter: Meter, inflight: InflightCalls): CallObserver {
  const duration = meter.createHistogram("rpc.server.duration", {
    description: "Duration of RPCs served, by method and outcome.",
    unit: "ms",
  });
  meter
    .createObservableUpDownCounter("rpc.server.active_requests", {
      description: "RPCs being served now.",
    })
    .addCallback((result) => result.observe(inflight.count));
  // One attribute object per protocol, method and outcome, made once.
  const attributeSets = new Map<string, Attributes>();
  const attributesOf = (
    protocol: string,
    service: string,
    method: string,
    code: Code | undefined,
  ) => {
    const key = `${protocol} ${method} ${code ?? "ok"}`;
    let attributes = attributeSets.get(key);
    if (!attributes) {
      attributes = {
        "rpc.system": protocol,
        "rpc.service": service,
        "rpc.method": method,
        "rpc.response.status_code": codeName(code),
      };
      attributeSets.set(key, attributes);
    }
    return attributes;
  };
  return {
    finished(req, _info, error, durationMs) {
      duration.record(
        durationMs,
        attributesOf(protocolOf(req.header), req.service.typeName, req.method.name, error?.code),
      );
    },
  };
}
