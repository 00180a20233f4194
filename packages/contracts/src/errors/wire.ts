import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { type ErrorDetail, ErrorDetailSchema } from "@virtrigaud/proto";
import type { ProviderError } from "./provider-error.js";
import { codeOfReason } from "./reason-codes.js";

/** The wire form of an error: what a failed call or task carries. */
export function toErrorDetail(error: ProviderError): ErrorDetail {
  return create(ErrorDetailSchema, {
    reason: error.reason,
    message: error.rawMessage,
    field: error.field ?? "",
    retryAfterMs: error.retryAfterMs ?? 0,
  });
}

/**
 * The ConnectError a server sends for a ProviderError: the reason's code,
 * the message, and an ErrorDetail. The cause stays behind. The client side
 * rebuilds the error with `ProviderError.from`.
 */
export function toConnectError(error: ProviderError): ConnectError {
  const prefix = error.field ? `${error.field}: ` : "";
  return new ConnectError(`${prefix}${error.rawMessage}`, codeOfReason[error.reason], undefined, [
    { desc: ErrorDetailSchema, value: toErrorDetail(error) },
  ]);
}
