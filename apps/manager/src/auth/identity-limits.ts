import type { Interceptor, StreamResponse } from "@connectrpc/connect";
import { ProviderError, type RateLimiter, createRateLimiter } from "@virtrigaud/contracts";
import { identityOf } from "./identity.js";

/** Limits per caller, by identity name. */
export interface IdentityLimits {
  /** Calls per second each identity may make (a token bucket of as many at once). */
  ratePerIdentity?: number | undefined;
  /** Watches each identity may hold open at once. */
  maxWatchesPerIdentity?: number | undefined;
}

/** More identities than this forget the oldest limiter (a fresh bucket is full: no harm). */
const maxTracked = 10_000;

/** Counts a watch until its stream ends, however it ends. */
async function* counted<T>(messages: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } finally {
    release();
  }
}

/**
 * Sheds one identity's calls above its rate and its watches above the cap,
 * with RESOURCE_EXHAUSTED saying which limit and when to retry, so one busy
 * or runaway client cannot starve the others. Runs after authentication:
 * the identity is in the call's context values.
 */
export function createIdentityLimitsInterceptor(limits: IdentityLimits): Interceptor {
  const limiters = new Map<string, RateLimiter>();
  const watches = new Map<string, number>();
  const limiterOf = (name: string): RateLimiter => {
    let limiter = limiters.get(name);
    if (!limiter) {
      if (limiters.size >= maxTracked) limiters.delete(limiters.keys().next().value as string);
      limiter = createRateLimiter({ qps: limits.ratePerIdentity as number });
      limiters.set(name, limiter);
    }
    return limiter;
  };
  return (next) => async (req) => {
    const name = identityOf(req.contextValues)?.name;
    if (name === undefined) return next(req);
    if (limits.ratePerIdentity) {
      const waitMs = limiterOf(name).tryAcquire();
      if (waitMs > 0)
        throw ProviderError.resourceExhausted(
          `"${name}" is over its rate limit of ${limits.ratePerIdentity} calls per second (--rate-limit-per-identity)`,
          { retryAfterMs: waitMs },
        );
    }
    if (!limits.maxWatchesPerIdentity || !req.stream || req.method.name !== "Watch")
      return next(req);
    const open = watches.get(name) ?? 0;
    if (open >= limits.maxWatchesPerIdentity)
      throw ProviderError.resourceExhausted(
        `"${name}" holds ${open} open watches, the most one identity may (--max-watches-per-identity); end one first`,
      );
    watches.set(name, open + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (watches.get(name) ?? 1) - 1;
      if (left > 0) watches.set(name, left);
      else watches.delete(name);
    };
    let response: StreamResponse;
    try {
      response = (await next(req)) as StreamResponse;
    } catch (err) {
      release();
      throw err;
    }
    // The client going away ends the stream too; the signal makes sure.
    req.signal.addEventListener("abort", release, { once: true });
    return { ...response, message: counted(response.message, release) };
  };
}
