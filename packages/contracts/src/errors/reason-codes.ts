import { Code } from "@connectrpc/connect";
import { ErrorReason, ErrorReasonSchema } from "@virtrigaud/proto";

/**
 * The one table from error reasons to Connect codes. Each reason has its own
 * code, so a client that sees only the status code (an independent gRPC
 * client, say) still knows the reason.
 */
export const codeOfReason: Readonly<Record<ErrorReason, Code>> = {
  [ErrorReason.UNSPECIFIED]: Code.Unknown,
  [ErrorReason.NOT_FOUND]: Code.NotFound,
  [ErrorReason.RETRYABLE]: Code.Aborted,
  [ErrorReason.INVALID_SPEC]: Code.InvalidArgument,
  [ErrorReason.UNSUPPORTED]: Code.Unimplemented,
  [ErrorReason.CONFLICT]: Code.FailedPrecondition,
  [ErrorReason.UNAUTHENTICATED]: Code.Unauthenticated,
  [ErrorReason.PERMISSION_DENIED]: Code.PermissionDenied,
  [ErrorReason.RESOURCE_EXHAUSTED]: Code.ResourceExhausted,
  [ErrorReason.UNAVAILABLE]: Code.Unavailable,
  [ErrorReason.DEADLINE_EXCEEDED]: Code.DeadlineExceeded,
  [ErrorReason.INTERNAL]: Code.Internal,
  [ErrorReason.CANCELED]: Code.Canceled,
  [ErrorReason.DATA_LOSS]: Code.DataLoss,
};

// The reverse table, plus the codes no reason produces (sent by servers that
// are not built on this SDK).
const reasonByCode = new Map<Code, ErrorReason>([
  [Code.AlreadyExists, ErrorReason.CONFLICT],
  [Code.OutOfRange, ErrorReason.INVALID_SPEC],
  [Code.Unknown, ErrorReason.INTERNAL],
]);
for (const { number: reason } of ErrorReasonSchema.values) {
  if (reason !== 0) reasonByCode.set(codeOfReason[reason as ErrorReason], reason);
}

/** The reason a bare Connect code stands for, when an error carries no detail. */
export function reasonOfCode(code: Code): ErrorReason {
  return reasonByCode.get(code) ?? ErrorReason.INTERNAL;
}

const reasonNames = new Map<ErrorReason, string>(
  ErrorReasonSchema.values.map((v) => [v.number, v.localName.toLowerCase()]),
);

/** The short name of a reason, for example "not_found" for ErrorReason.NOT_FOUND. */
export function reasonName(reason: ErrorReason): string {
  return reasonNames.get(reason) ?? `reason_${String(reason)}`;
}

/** Reasons after which repeating the same call can succeed. */
export function isRetryableReason(reason: ErrorReason): boolean {
  return (
    reason === ErrorReason.RETRYABLE ||
    reason === ErrorReason.UNAVAILABLE ||
    reason === ErrorReason.RESOURCE_EXHAUSTED
  );
}
