import { type ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { reasonName } from "@virtrigaud/contracts/wire";
import { canonicalText, renderDifference, renderValue, truncateText } from "./render-value.js";
import { CaseFailure } from "./types.js";

/**
 * Fails the case with `message` unless `condition` holds.
 *
 * @throws CaseFailure
 */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CaseFailure(message);
}

/**
 * Fails the case unless `actual` equals `expected`, compared as their
 * canonical text (`canonicalText`: messages in their protobuf JSON form).
 *
 * @throws CaseFailure naming `what`, with both values (truncated around
 * their first difference when long).
 */
export function checkEqual<T>(actual: T, expected: T, what: string): void {
  const a = canonicalText(actual);
  const e = canonicalText(expected);
  if (a === e) return;
  const shown = renderDifference(e, a);
  throw new CaseFailure(`${what}: expected ${shown.expected}, got ${shown.actual}`);
}

/** True for a CaseFailure, by name: a case may come from another copy of this module. */
function isCaseFailure(thrown: unknown): thrown is CaseFailure {
  return thrown instanceof Error && thrown.name === "CaseFailure";
}

/** True for what a provider (or the way to it) throws: a typed error, a Connect error, an abort. */
function isCallError(thrown: unknown): boolean {
  if (ProviderError.is(thrown)) return true;
  const name = thrown instanceof Error ? thrown.name : "";
  return name === "ConnectError" || name === "AbortError" || name === "TimeoutError";
}

/**
 * What a failure was, for the report: a CaseFailure's message, a provider's
 * typed error as `[reason] message`, and anything else (a fault of the
 * suite itself) by its own name and message rather than as an INTERNAL error
 * the provider never sent.
 */
export function describeFailure(thrown: unknown): string {
  if (isCaseFailure(thrown)) return thrown.message;
  if (isCallError(thrown)) return ProviderError.from(thrown).message;
  const text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : renderValue(thrown);
  return `vcts could not carry out the check: ${truncateText(text)}`;
}

/**
 * Runs a call that must fail with one of `reasons` and returns its error.
 *
 * @throws CaseFailure when it succeeds or fails with another reason.
 */
export async function expectReason(
  call: Promise<unknown>,
  reasons: readonly ErrorReason[],
  what: string,
): Promise<ProviderError> {
  const wanted = reasons.map(reasonName).join(" or ");
  let outcome: unknown;
  try {
    outcome = await call;
  } catch (thrown) {
    if (!isCallError(thrown)) throw new CaseFailure(`${what}: ${describeFailure(thrown)}`);
    const error = ProviderError.from(thrown);
    if (reasons.includes(error.reason)) return error;
    throw new CaseFailure(`${what}: expected ${wanted}, got ${error.message}`);
  }
  throw new CaseFailure(
    `${what}: expected ${wanted}, but the call succeeded with ${renderValue(outcome)}`,
  );
}

/**
 * Runs a call that must succeed.
 *
 * @throws CaseFailure naming `what` and the typed error.
 */
export async function expectSuccess<T>(call: Promise<T>, what: string): Promise<T> {
  try {
    return await call;
  } catch (thrown) {
    if (isCaseFailure(thrown)) throw thrown;
    throw new CaseFailure(`${what} failed: ${describeFailure(thrown)}`);
  }
}
