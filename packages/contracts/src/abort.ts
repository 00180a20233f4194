import { ProviderError } from "./errors/provider-error.js";

/** Why a signal aborted, as the Error it is (AbortSignal types it as any). */
export function abortReason(signal: AbortSignal | undefined): Error {
  return (signal?.reason as Error | undefined) ?? new Error("aborted");
}

/**
 * The typed error for work the caller's own signal stopped: DEADLINE_EXCEEDED
 * when the signal was a timeout, CANCELED for any other abort, whatever the
 * reason object the caller chose.
 */
export function callerAbortError(signal: AbortSignal): ProviderError {
  const reason: unknown = signal.reason;
  if (ProviderError.is(reason)) return reason;
  return (reason as { name?: unknown } | undefined)?.name === "TimeoutError"
    ? ProviderError.deadlineExceeded("the caller's deadline passed", { cause: reason })
    : ProviderError.canceled("the caller cancelled", { cause: reason });
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it
 * aborts, even when `work` ignores the signal and goes on.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
