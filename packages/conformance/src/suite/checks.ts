import { type ErrorReason, ProviderError, reasonName } from "@virtrigaud/contracts";
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
 * Fails the case unless `actual` equals `expected` (compared as JSON).
 *
 * @throws CaseFailure naming `what`, with both values.
 */
export function checkEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new CaseFailure(`${what}: expected ${e}, got ${a}`);
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
    const error = ProviderError.from(thrown);
    if (reasons.includes(error.reason)) return error;
    throw new CaseFailure(`${what}: expected ${wanted}, got ${error.message}`);
  }
  throw new CaseFailure(
    `${what}: expected ${wanted}, but the call succeeded with ${JSON.stringify(outcome)}`,
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
    if (thrown instanceof CaseFailure) throw thrown;
    throw new CaseFailure(`${what} failed: ${ProviderError.from(thrown).message}`);
  }
}
