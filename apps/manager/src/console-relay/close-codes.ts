import { ErrorReason } from "@virtrigaud/contracts";

/**
 * WebSocket close codes of the console relay (4000-4999 are the
 * application's): 4000 plus the HTTP status a Connect code maps to, so a
 * client can tell why its console ended without a message to parse.
 */
export const relayCloseCodes = {
  /** The console ended on its own (the guest or the provider closed it). */
  ended: 1000,
  /** The manager is shutting down. */
  shutdown: 1001,
  /** The ticket is unknown, used, expired or for another VM (the reason says which). */
  ticketRefused: 4401,
  /** No bytes either way for the idle limit, or the session's time limit passed. */
  timeLimit: 4408,
} as const;

const byReason: Partial<Record<ErrorReason, number>> = {
  [ErrorReason.NOT_FOUND]: 4404,
  [ErrorReason.INVALID_SPEC]: 4400,
  [ErrorReason.UNSUPPORTED]: 4501,
  [ErrorReason.CONFLICT]: 4409,
  [ErrorReason.UNAUTHENTICATED]: 4401,
  [ErrorReason.PERMISSION_DENIED]: 4403,
  [ErrorReason.RESOURCE_EXHAUSTED]: 4429,
  [ErrorReason.UNAVAILABLE]: 4503,
  [ErrorReason.RETRYABLE]: 4503,
  [ErrorReason.DEADLINE_EXCEEDED]: 4504,
};

/** The close code for a console that failed with `reason`. */
export function closeCodeOf(reason: ErrorReason): number {
  return byReason[reason] ?? 4500;
}

/** A close reason within the 123 bytes a close frame carries. */
export function closeReasonText(message: string): string {
  let text = message;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -2) + "…";
  return text;
}
