import { type Code, ConnectError } from "@connectrpc/connect";
import { type ErrorDetail, ErrorDetailSchema, ErrorReason } from "@virtrigaud/proto";
import { codeOfReason, isRetryableReason, reasonName, reasonOfCode } from "./reason-codes.js";

/**
 * True for an Error from any realm: errors Node creates internally (socket
 * and TLS failures) fail `instanceof Error` inside a vm context, a worker or
 * a jest test environment.
 */
export function isErrorLike(value: unknown): value is Error & { code?: unknown; cause?: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { message?: unknown }).message === "string" &&
    typeof (value as { name?: unknown }).name === "string"
  );
}

/** Details that some reasons carry. */
export interface ProviderErrorOptions {
  /** For INVALID_SPEC: the path of the offending field, for example "class.cpu". */
  field?: string | undefined;
  /** For RETRYABLE and RESOURCE_EXHAUSTED: milliseconds to wait before retrying. */
  retryAfterMs?: number | undefined;
  /** What went wrong underneath. Logged by the server, never sent to clients. */
  cause?: unknown;
}

/**
 * The one error type of VirtRigaud providers. A provider throws it with a
 * reason from the closed set in `ErrorReason`; the server harness sends it as
 * the matching Connect/gRPC code with an `ErrorDetail`, and the client
 * rebuilds the same `ProviderError` from the wire.
 *
 * Create one with the named constructors: `ProviderError.notFound(...)`,
 * `ProviderError.invalidSpec(field, ...)`, `ProviderError.retryable(...)` and
 * the rest. Anything else a provider throws reaches its caller as INTERNAL,
 * with its cause logged and never sent.
 */
export class ProviderError extends Error {
  override name = "ProviderError";
  /** Why the call failed. */
  readonly reason: ErrorReason;
  /** The message without the reason and field prefix. */
  readonly rawMessage: string;
  /** For INVALID_SPEC: the offending field path. */
  readonly field: string | undefined;
  /** For RETRYABLE and RESOURCE_EXHAUSTED: milliseconds to wait before retrying. */
  readonly retryAfterMs: number | undefined;

  constructor(reason: ErrorReason, message: string, options: ProviderErrorOptions = {}) {
    const prefix = options.field ? `${options.field}: ` : "";
    super(
      `[${reasonName(reason)}] ${prefix}${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.reason = reason;
    this.rawMessage = message;
    this.field = options.field || undefined;
    this.retryAfterMs = options.retryAfterMs || undefined;
  }

  /** The Connect code this error is sent with. */
  get code(): Code {
    return codeOfReason[this.reason];
  }

  /** True when repeating the same call may succeed. */
  get retryable(): boolean {
    return isRetryableReason(this.reason);
  }

  /** The VM, snapshot, task or image does not exist. */
  static notFound(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.NOT_FOUND, message, options);
  }

  /** A transient failure; the caller retries after `retryAfterMs`. */
  static retryable(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.RETRYABLE, message, options);
  }

  /** The request is invalid at `field`; nothing was changed. */
  static invalidSpec(
    field: string,
    message: string,
    options?: ProviderErrorOptions,
  ): ProviderError {
    return new ProviderError(ErrorReason.INVALID_SPEC, message, { ...options, field });
  }

  /** The provider does not support this operation or option. */
  static unsupported(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.UNSUPPORTED, message, options);
  }

  /** The request conflicts with the current state. */
  static conflict(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.CONFLICT, message, options);
  }

  /** Credentials were refused. */
  static unauthenticated(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.UNAUTHENTICATED, message, options);
  }

  /** Credentials are valid but not allowed to do this. */
  static permissionDenied(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.PERMISSION_DENIED, message, options);
  }

  /** A quota or rate limit was hit; the caller retries after `retryAfterMs`. */
  static resourceExhausted(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.RESOURCE_EXHAUSTED, message, options);
  }

  /** The backend cannot be reached. */
  static unavailable(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.UNAVAILABLE, message, options);
  }

  /** The deadline passed before the work finished. */
  static deadlineExceeded(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.DEADLINE_EXCEEDED, message, options);
  }

  /** The work was cancelled. */
  static canceled(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.CANCELED, message, options);
  }

  /** Bytes arrived damaged (a disk chunk or file whose SHA-256 does not match); nothing was kept. */
  static dataLoss(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.DATA_LOSS, message, options);
  }

  /** A bug or an unexpected failure. Keep secrets out of `message`; put the detail in `cause`. */
  static internal(message: string, options?: ProviderErrorOptions): ProviderError {
    return new ProviderError(ErrorReason.INTERNAL, message, options);
  }

  /**
   * Normalises anything thrown into a ProviderError: a ProviderError is
   * returned as is, a ConnectError is mapped by its detail or code, an
   * aborted operation becomes CANCELED or DEADLINE_EXCEEDED, and anything
   * else becomes INTERNAL with the original kept as `cause`.
   */
  static from(thrown: unknown): ProviderError {
    if (ProviderError.is(thrown)) return thrown;
    if (thrown instanceof ConnectError) {
      const [detail] = thrown.findDetails(ErrorDetailSchema);
      if (detail) return ProviderError.fromDetail(detail, thrown);
      return new ProviderError(reasonOfCode(thrown.code), thrown.rawMessage, { cause: thrown });
    }
    if (isErrorLike(thrown) && (thrown.name === "AbortError" || thrown.name === "TimeoutError")) {
      const reason = thrown.cause ?? (thrown as { reason?: unknown }).reason;
      if (reason !== undefined && reason !== thrown) return ProviderError.from(reason);
      return thrown.name === "TimeoutError"
        ? ProviderError.deadlineExceeded("the operation timed out", { cause: thrown })
        : ProviderError.canceled("the operation was cancelled", { cause: thrown });
    }
    return ProviderError.internal("internal error", { cause: thrown });
  }

  /** Rebuilds the error an ErrorDetail describes (from the wire, or from a failed task). */
  static fromDetail(detail: ErrorDetail, cause?: unknown): ProviderError {
    const reason = detail.reason === ErrorReason.UNSPECIFIED ? ErrorReason.INTERNAL : detail.reason;
    return new ProviderError(reason, detail.message, {
      field: detail.field,
      retryAfterMs: detail.retryAfterMs,
      cause,
    });
  }

  /** True when `value` is a ProviderError, optionally of the given reason. */
  static is(value: unknown, reason?: ErrorReason): value is ProviderError {
    const isError =
      value instanceof ProviderError ||
      (isErrorLike(value) &&
        value.name === "ProviderError" &&
        typeof (value as { reason?: unknown }).reason === "number");
    return isError && (reason === undefined || (value as ProviderError).reason === reason);
  }
}
