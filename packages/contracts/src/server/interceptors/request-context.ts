import { randomUUID } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../logging/create-logger.js";
import { type CallInfo, callInfoKey } from "../call-context.js";
import type { InflightCalls } from "../inflight-calls.js";

const acceptableRequestId = /^[\x21-\x7e]{1,128}$/;

/**
 * The outermost interceptor: gives each call a request id (the caller's
 * x-request-id when it is sane, a new one otherwise), returns it in the
 * x-request-id response header, and counts the call as in flight for drain.
 */
export function createRequestContextInterceptor(
  logger: Logger,
  inflight: InflightCalls,
): Interceptor {
  return (next) => async (req) => {
    const given = req.header.get("x-request-id");
    const requestId = given && acceptableRequestId.test(given) ? given : randomUUID();
    let child: Logger | undefined;
    const info: CallInfo = {
      requestId,
      debug: logger.isLevelEnabled("debug"),
      get logger() {
        return (child ??= logger.child({ requestId, rpc: req.method.name }));
      },
    };
    req.contextValues.set(callInfoKey, info);
    inflight.enter();
    try {
      const res = await next(req);
      res.header.set("x-request-id", requestId);
      return res;
    } finally {
      inflight.leave();
    }
  };
}
