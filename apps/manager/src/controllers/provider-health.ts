import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { transportFailureOf } from "@virtrigaud/contracts/wire";
import type { ControllerSettings } from "./context.js";

/** What the last health check of a provider found. */
export type HealthOutcome =
  | { healthy: true; message: string }
  | {
      healthy: false;
      /** The Ready condition's reason: "ProviderUnavailable", "WrongProtocol", ... */
      reason: string;
      message: string;
    };

/** When a provider is checked next, and what the last check found. */
export interface HealthPacing {
  /** Failed checks in a row. */
  failures: number;
  /** Not checked before this time (ms since the epoch). */
  nextCheckAt: number;
  last: HealthOutcome;
}

type ProbeSettings = Pick<ControllerSettings, "minProbeIntervalMs" | "maxProbeIntervalMs">;

/**
 * The wait after the `failures`-th failed check in a row: the minimum,
 * doubled each time, up to the maximum (1 s, 2 s, 4 s ... 30 s by default).
 */
export function probeBackoffMs(failures: number, settings: ProbeSettings): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(settings.maxProbeIntervalMs, settings.minProbeIntervalMs * 2 ** doublings);
}

/**
 * The pacing after a check that found `outcome`: a healthy provider is
 * checked again after `healthyIntervalMs`, a failing one after the backoff.
 */
export function nextPacing(
  previous: HealthPacing | undefined,
  outcome: HealthOutcome,
  now: number,
  healthyIntervalMs: number,
  settings: ProbeSettings,
): HealthPacing {
  const failures = outcome.healthy ? 0 : (previous?.failures ?? 0) + 1;
  const wait = outcome.healthy ? healthyIntervalMs : probeBackoffMs(failures, settings);
  return { failures, nextCheckAt: now + wait, last: outcome };
}

/**
 * The pacing once failing calls have opened the circuit of a provider whose
 * last check passed: it is checked after the backoff of a first failure, not
 * at once, and reports the calls' error until then.
 */
export function pacingAfterCallsFailed(
  previous: HealthPacing | undefined,
  message: string,
  now: number,
  settings: ProbeSettings,
): HealthPacing {
  const failures = Math.max(previous?.failures ?? 0, 1);
  return {
    failures,
    nextCheckAt: Math.min(
      previous && !previous.last.healthy ? previous.nextCheckAt : Infinity,
      now + probeBackoffMs(failures, settings),
    ),
    last: { healthy: false, reason: "ProviderUnavailable", message },
  };
}

/** The Ready condition's reason for a check that failed with `error`. */
export function healthFailureReason(error: ProviderError): string {
  switch (transportFailureOf(error)) {
    case "wrong-protocol":
      return "WrongProtocol";
    case "not-served":
      return "NotAProvider";
    case "tls-handshake":
      return "TLSHandshakeFailed";
    case "unreachable":
    case "closed":
      return "ProviderUnavailable";
    case undefined:
      break;
  }
  if (
    ProviderError.is(error, ErrorReason.UNAVAILABLE) ||
    ProviderError.is(error, ErrorReason.DEADLINE_EXCEEDED)
  )
    return "ProviderUnavailable";
  // The provider answered Validate with an error of its own.
  return "ValidateFailed";
}
