import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "../../errors/provider-error.js";
import { toConnectError } from "../../errors/wire.js";
import { callInfoKey } from "../call-context.js";

/**
 * Why a call's signal aborted, as a typed error: the server's deadline, the
 * server shutting down, or else the caller cancelling or going away (a
 * client that times out resets its stream, usually before the server's own
 * deadline fires, with a code that says nothing of why).
 */
function abortError(reason: unknown): ProviderError {
  const code = reason instanceof ConnectError ? reason.code : undefined;
  if (code === Code.DeadlineExceeded)
    return ProviderError.deadlineExceeded("the call's deadline passed");
  if (code === Code.Unavailable) return ProviderError.from(reason);
  return ProviderError.canceled("the caller cancelled the call or went away");
}

/**
 * Turns whatever a call throws into the wire form of a ProviderError. When
 * the call's signal aborted (deadline, client cancel, shutdown), that is the
 * outcome, whatever the provider threw in response. INTERNAL errors have
 * their cause logged and reach the client as a generic message with the
 * request id.
 */
export function createErrorInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (thrown) {
      const info = req.contextValues.get(callInfoKey);
      let error = req.signal.aborted ? abortError(req.signal.reason) : ProviderError.from(thrown);
      if (error.reason === ErrorReason.INTERNAL) {
        info?.logger.error({ err: error.cause ?? error }, "internal error");
        error = ProviderError.internal(
          `internal error; the provider's log has the details under request id ${info?.requestId ?? "unknown"}`,
        );
      }
      const wire = toConnectError(error);
      if (info) wire.metadata.set("x-request-id", info.requestId);
      throw wire;
    }
  };
}
