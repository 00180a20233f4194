import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "../../errors/provider-error.js";
import { toConnectError } from "../../errors/wire.js";
import type { CallInfo } from "../call-context.js";
import { readFailure } from "../request-errors.js";

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
 * Turns whatever a call threw into the wire form of a ProviderError. When
 * the call's signal aborted (deadline, client cancel, shutdown), that is the
 * outcome, whatever the provider threw in response. An INTERNAL error has
 * its cause logged and reaches the client as a generic message that names
 * whose log to read (`role`: "provider", "manager") and the request id,
 * which every error carries in its x-request-id metadata. A stream's
 * request that Connect could not read (`input`, the method's request type)
 * is the caller's mistake, INVALID_SPEC.
 */
export function toWireError(
  thrown: unknown,
  signal: AbortSignal,
  info: CallInfo,
  role = "server",
  input?: DescMessage,
): ConnectError {
  const unread = thrown instanceof ConnectError ? readFailure(thrown, input) : undefined;
  let error = signal.aborted ? abortError(signal.reason) : (unread ?? ProviderError.from(thrown));
  if (error.reason === ErrorReason.INTERNAL) {
    info.logger.error({ err: error.cause ?? error }, "internal error");
    error = ProviderError.internal(
      `internal error; the ${role}'s log has the details under request id ${info.requestId}`,
    );
  }
  const wire = toConnectError(error);
  wire.metadata.set("x-request-id", info.requestId);
  return wire;
}
