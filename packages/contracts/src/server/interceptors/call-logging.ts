import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { callInfoKey } from "../call-context.js";

/**
 * Logs each call: its start and success at debug, a failure at info, with
 * the duration and code. Never the request or response messages: they can hold
 * cloud-init data and other secrets.
 */
export function createCallLoggingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const start = performance.now();
    const info = req.contextValues.get(callInfoKey);
    if (info?.debug) info.logger.debug("call started");
    try {
      const res = await next(req);
      if (info?.debug)
        info.logger.debug({ durationMs: elapsed(start), code: "ok" }, "call finished");
      return res;
    } catch (thrown) {
      const error = ConnectError.from(thrown);
      info?.logger.info(
        { durationMs: elapsed(start), code: Code[error.code], error: error.rawMessage },
        "call failed",
      );
      throw thrown;
    }
  };
}

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1000;
}
