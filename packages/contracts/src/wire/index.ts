/**
 * The contract's rules as they travel: the short name of each error reason,
 * the field rules a request must pass (the same checks the server runs
 * before a provider sees a call), and what a failed transport looked like.
 *
 * @packageDocumentation
 */
export { reasonName } from "../errors/reason-codes.js";
export { findViolation } from "../validation/validate-message.js";
export type { Violation } from "../validation/message-rules.js";
export { transportFailureOf, type TransportFailure } from "../client/transport-errors.js";
export { useFastTextEncoding } from "./text-encoding.js";
