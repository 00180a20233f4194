// The leader lease's clock arithmetic, apart from timers and sockets. All
// instants are milliseconds on the replica's monotonic clock.
//
// Why the deadline is safe: the server stamps expires_at = (when it ran the
// renew) + ttl, and it ran the renew after the replica sent it. So no other
// replica can take the lease before (send time) + ttl, on the server's clock.
// The replica stops leading at (send time) + ttl - safetyMargin - stopAllowance
// on its own clock: the margin absorbs the two clocks running at different
// rates, and the allowance is the time its controllers get to stop.

import { ProviderError } from "@virtrigaud/contracts";

/** The timing options of a leader lease, each with its default. */
export interface LeaseTimingOptions {
  /** How long a lease lasts after a renew. Default: 15000. */
  ttlMs?: number | undefined;
  /** How often the leader renews. Default: 5000. */
  renewIntervalMs?: number | undefined;
  /** How often a follower tries to take the lease, and a leader retries a failed renew. Default: 1000. */
  retryIntervalMs?: number | undefined;
  /** Taken off the lease for the server's and the replica's clocks drifting apart. Default: 1000. */
  safetyMarginMs?: number | undefined;
  /** The time controllers get to stop, between onStopped and the lease's end. Default: 2000. */
  stopAllowanceMs?: number | undefined;
}

/** The timing of a leader lease, defaults applied and checked. */
export interface LeaseTiming {
  ttlMs: number;
  renewIntervalMs: number;
  retryIntervalMs: number;
  safetyMarginMs: number;
  stopAllowanceMs: number;
  /** How long after sending a renew (or the acquire) the replica may lead. */
  leadWindowMs: number;
  /** The longest one statement may take, on the client and on the server. */
  queryTimeoutMs: number;
}

/**
 * Applies the defaults and checks that a leader can renew before it must stop.
 *
 * @throws ProviderError INVALID_SPEC when a value is not a positive integer,
 * or when renewIntervalMs does not fit in ttlMs - safetyMarginMs - stopAllowanceMs
 */
export function compileLeaseTiming(options: LeaseTimingOptions): LeaseTiming {
  const ttlMs = positive("ttlMs", options.ttlMs ?? 15_000);
  const renewIntervalMs = positive("renewIntervalMs", options.renewIntervalMs ?? 5_000);
  const retryIntervalMs = positive("retryIntervalMs", options.retryIntervalMs ?? 1_000);
  const safetyMarginMs = nonNegative("safetyMarginMs", options.safetyMarginMs ?? 1_000);
  const stopAllowanceMs = nonNegative("stopAllowanceMs", options.stopAllowanceMs ?? 2_000);
  const leadWindowMs = ttlMs - safetyMarginMs - stopAllowanceMs;
  if (renewIntervalMs >= leadWindowMs) {
    throw ProviderError.invalidSpec(
      "renewIntervalMs",
      `must be under ttlMs - safetyMarginMs - stopAllowanceMs (${leadWindowMs}), or the leader stops before it renews`,
    );
  }
  return {
    ttlMs,
    renewIntervalMs,
    retryIntervalMs,
    safetyMarginMs,
    stopAllowanceMs,
    leadWindowMs,
    queryTimeoutMs: renewIntervalMs,
  };
}

/** When a replica that sent its last successful renew (or acquire) at `sentAt` stops leading. */
export function stopLeadingAt(sentAt: number, timing: LeaseTiming): number {
  return sentAt + timing.leadWindowMs;
}

/** What a leader does when its renew is due. */
export type RenewPlan =
  | { kind: "stop" }
  /** Send a renew that is given up after `timeoutMs`. */
  | { kind: "renew"; timeoutMs: number };

/**
 * A renew is sent only with time left before the leader must stop, and is
 * given up when that time runs out, so a stalled one cannot carry the leader
 * past its deadline.
 */
export function planRenew(now: number, stopAt: number, timing: LeaseTiming): RenewPlan {
  const left = stopAt - now;
  if (left < 1) return { kind: "stop" };
  return { kind: "renew", timeoutMs: Math.min(timing.queryTimeoutMs, left) };
}

/** The wait before the next renew, after one sent at `sentAt` succeeded. */
export function delayAfterRenew(now: number, sentAt: number, timing: LeaseTiming): number {
  return Math.max(0, sentAt + timing.renewIntervalMs - now);
}

/** The wait before retrying a failed renew: a retry interval, but never past the stop. */
export function delayAfterFailedRenew(now: number, stopAt: number, timing: LeaseTiming): number {
  return Math.max(0, Math.min(timing.retryIntervalMs, stopAt - now));
}

function positive(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw ProviderError.invalidSpec(field, `must be a positive integer of milliseconds`);
  }
  return value;
}

function nonNegative(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw ProviderError.invalidSpec(field, `must be an integer of milliseconds, 0 or more`);
  }
  return value;
}
