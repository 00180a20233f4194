import type { ConnectError, Interceptor, UnaryResponse } from "@connectrpc/connect";
import { ProviderError } from "../../errors/provider-error.js";
import type { Logger } from "../../logging/create-logger.js";
import { callInfoKey } from "../call-context.js";
import type { InflightCalls } from "../inflight-calls.js";
import { toWireError } from "./errors.js";
import { observeStream } from "./observe-stream.js";
import type { CallObserver } from "./observers.js";
import { createCallInfo } from "./request-context.js";

/**
 * Where a call enters and leaves the harness, in one interceptor layer (each
 * layer costs every call a promise hop): it gives the call its CallInfo and
 * returns the request id in x-request-id, counts it in flight for drain,
 * turns whatever it throws into the wire form of a ProviderError (an
 * INTERNAL one points at the log of the `role`: "provider", "manager"), and runs
 * the observers (metrics, access log) around it, who see that final error.
 * A server stream is in flight, and its errors are typed, until its last
 * message.
 */
export function createCallBoundaryInterceptor(
  logger: Logger,
  inflight: InflightCalls,
  observers: readonly CallObserver[],
  role = "server",
): Interceptor {
  return (next) => async (req) => {
    const info = createCallInfo(req, logger);
    req.contextValues.set(callInfoKey, info);
    inflight.enter();
    const start = performance.now();
    for (const observer of observers) observer.started?.(req, info);
    const finish = (error: ConnectError | undefined, res?: UnaryResponse) => {
      const durationMs = performance.now() - start;
      for (const observer of observers) observer.finished(req, info, error, durationMs, res);
      inflight.leave();
    };
    const wireError = (thrown: unknown) =>
      toWireError(thrown, req.signal, info, role, req.method.input);
    let res;
    try {
      // Refused here rather than by a GOAWAY: see RpcListener.stopAccepting.
      if (inflight.draining) throw ProviderError.unavailable("the server is shutting down");
      res = await next(req);
    } catch (thrown) {
      const error = wireError(thrown);
      finish(error);
      throw error;
    }
    res.header.set("x-request-id", info.requestId);
    if (!res.stream) {
      finish(undefined, res);
      return res;
    }
    return { ...res, message: observeStream(res.message, req.signal, wireError, finish) };
  };
}
