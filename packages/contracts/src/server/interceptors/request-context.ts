import { randomUUID } from "node:crypto";
import type { UnaryRequest, StreamRequest } from "@connectrpc/connect";
import type { Logger } from "../../logging/create-logger.js";
import { CallInfo } from "../call-context.js";

const acceptableRequestId = /^[\x21-\x7e]{1,128}$/;

/**
 * What the harness knows about a call: its request id (the caller's
 * x-request-id when it is sane, a new one otherwise) and a logger for it.
 */
export function createCallInfo(req: UnaryRequest | StreamRequest, logger: Logger): CallInfo {
  const given = req.header.get("x-request-id");
  const requestId = given && acceptableRequestId.test(given) ? given : randomUUID();
  return new CallInfo(requestId, req.method.name, logger, logger.isLevelEnabled("debug"));
}
