import { Code } from "@connectrpc/connect";
import { clip } from "../../clip.js";
import type { CallObserver } from "./observers.js";

/**
 * Logs each call: its start and success at debug, a failure at info, with
 * the duration and code. Never the request or response messages: they can
 * hold cloud-init data and other secrets. An error's message is cut at 1000
 * characters: whatever echoed a client's input, the log stays small.
 */
export const callLoggingObserver: CallObserver = {
  started(_req, info) {
    if (info.debug) info.logger.debug("call started");
  },
  finished(_req, info, error, durationMs) {
    const rounded = Math.round(durationMs * 1000) / 1000;
    if (error) {
      info.logger.info(
        {
          durationMs: rounded,
          code: Code[error.code],
          error: clip(error.rawMessage, 1000),
        },
        "call failed",
      );
    } else if (info.debug) {
      info.logger.debug({ durationMs: rounded, code: "ok" }, "call finished");
    }
  },
};
