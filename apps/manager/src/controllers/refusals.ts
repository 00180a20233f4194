import { createHash } from "node:crypto";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";

/** Backoff after refusals the same request would meet again: a spec change retries at once. */
const permanentBackoff = { firstMs: 60_000, maxMs: 15 * 60_000 } as const;

/** Backoff after refusals that may pass by themselves (quota, busy, a provider's bug). */
const transientBackoff = { firstMs: 1_000, maxMs: 60_000 } as const;

/** The longest provider message a condition or an event keeps. */
const maxMessageLength = 1024;

/** What a failed provider call (or task) means for the resource that asked. */
export interface Refusal {
  /** The error, typed. */
  error: ProviderError;
  /**
   * For conditions and events: the reason, the field and the provider's
   * message, as in "[invalid_spec] image.path: /x is not a disk image on the host".
   */
  message: string;
  /**
   * The provider could not be reached (UNAVAILABLE, DEADLINE_EXCEEDED,
   * CANCELED): not a refusal of the request. The Provider's own status and
   * events say so, and the circuit breaker paces the retries.
   */
  outage: boolean;
  /**
   * The same request would be refused again (INVALID_SPEC, UNSUPPORTED,
   * NOT_FOUND, CONFLICT, PERMISSION_DENIED, UNAUTHENTICATED): it waits for
   * a change of the spec, or a long backoff.
   */
  permanent: boolean;
  /** When to try again after `attempt` refusals in a row. */
  retryAfterMs: number;
}

const permanentReasons = new Set<ErrorReason>([
  ErrorReason.INVALID_SPEC,
  ErrorReason.UNSUPPORTED,
  ErrorReason.NOT_FOUND,
  ErrorReason.CONFLICT,
  ErrorReason.PERMISSION_DENIED,
  ErrorReason.UNAUTHENTICATED,
]);

const outageReasons = new Set<ErrorReason>([
  ErrorReason.UNAVAILABLE,
  ErrorReason.DEADLINE_EXCEEDED,
  ErrorReason.CANCELED,
]);

/** The message of an error for a condition or event, cut to a sane length. */
function refusalMessage(error: ProviderError): string {
  const text = error.message;
  return text.length > maxMessageLength ? `${text.slice(0, maxMessageLength)}...` : text;
}

/** The wait before the next try after `attempt` refusals (or failures) in a row, from 1. */
export function backoffMs(attempt: number, permanent: boolean): number {
  const backoff = permanent ? permanentBackoff : transientBackoff;
  return Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Judges what a provider's error means for the resource that asked, and
 * when to try again: a pure function of the error and how many refusals in
 * a row (`attempt`, from 1) the resource has met.
 */
export function judgeRefusal(thrown: unknown, attempt: number): Refusal {
  const error = ProviderError.from(thrown);
  const permanent = permanentReasons.has(error.reason);
  return {
    error,
    message: refusalMessage(error),
    outage: outageReasons.has(error.reason),
    permanent,
    retryAfterMs: Math.max(backoffMs(attempt, permanent), error.retryAfterMs ?? 0),
  };
}

/** What a resource last asked of its provider, and how it went. */
interface Asked {
  /** The generation of the spec it was asked at. */
  generation: bigint;
  /**
   * What was asked: the verb and a digest of the request, digested only once
   * it is needed (the same key asks again, or is refused): a request that
   * goes through, as most do, is never digested.
   */
  request: string | (() => string);
  /** Refusals in a row at this generation. */
  refusals: number;
  /** Until when the same request is not asked again (ms since the epoch); 0 when it may be. */
  heldUntil: number;
}

/** The digest of what `asked` asked, made now if it was not yet. */
function digestOf(asked: Asked): string {
  if (typeof asked.request !== "string") asked.request = asked.request();
  return asked.request;
}

/**
 * Remembers, per resource, what it asked its provider and the refusals in a
 * row, so that the same request is not asked again before its backoff is
 * over, whatever wakes the resource (a dependency's status, a sweep). A new
 * generation of the spec, or a different request (a class that changed, say),
 * is asked at once; a success (`forget`) starts again from nothing.
 */
export class RefusalMemory {
  readonly #asked = new Map<string, Asked>();

  /**
   * How long `verb` with `request` must still wait before it is asked for
   * `key` at `generation`: 0 when it may be asked now. Records it as the
   * request being asked, for a refusal (or a failed task) to hold. The
   * request must not change until it is refused or forgotten.
   */
  ask(key: string, generation: bigint, verb: string, request: unknown, now: number): number {
    const asked = this.#asked.get(key);
    if (asked && asked.generation === generation) {
      const digest = requestDigest(verb, request);
      if (digestOf(asked) === digest) return Math.max(0, asked.heldUntil - now);
      this.#asked.set(key, { generation, request: digest, refusals: asked.refusals, heldUntil: 0 });
      return 0;
    }
    this.#asked.set(key, {
      generation,
      request: () => requestDigest(verb, request),
      refusals: 0,
      heldUntil: 0,
    });
    return 0;
  }

  /**
   * Counts a refusal of what `key` asked last, and judges it: the request is
   * held until its backoff is over.
   */
  refuse(key: string, generation: bigint, thrown: unknown, now: number): Refusal {
    const asked = this.#asked.get(key);
    const current =
      asked && asked.generation === generation
        ? asked
        : { generation, request: "", refusals: 0, heldUntil: 0 };
    // Digested now: the request itself (a Create's user data, say) is not kept while it is held.
    digestOf(current);
    current.refusals += 1;
    const refusal = judgeRefusal(thrown, current.refusals);
    current.heldUntil = refusal.outage ? 0 : now + refusal.retryAfterMs;
    this.#asked.set(key, current);
    return refusal;
  }

  /** Counts one more failure of `key` that is not a refusal (a VM that vanished), and returns how many in a row. */
  fail(key: string, generation: bigint): number {
    const asked = this.#asked.get(key);
    const current =
      asked && asked.generation === generation
        ? asked
        : { generation, request: "", refusals: 0, heldUntil: 0 };
    digestOf(current);
    current.refusals += 1;
    this.#asked.set(key, current);
    return current.refusals;
  }

  /** Forgets `key`: what it asked went through, or it is gone. */
  forget(key: string): void {
    this.#asked.delete(key);
  }
}

/** A short digest of what a request asks, to tell the same request from another. */
function requestDigest(verb: string, request: unknown): string {
  return `${verb}:${createHash("sha256")
    .update(JSON.stringify(request, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)))
    .digest("base64url")}`;
}
