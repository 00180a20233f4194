import { ProviderError } from "../../errors/provider-error.js";
import type { RateLimiter } from "../../limits/rate-limiter.js";
import type { CallGuard } from "./guards.js";

/**
 * Sheds calls above the server's rate limit with RESOURCE_EXHAUSTED and the
 * time until a call would be admitted, which the client's retry honours.
 */
export function createRateLimitGuard(limiter: RateLimiter): CallGuard {
  return () => {
    const waitMs = limiter.tryAcquire();
    if (waitMs > 0) {
      throw ProviderError.resourceExhausted("the provider's rate limit is exceeded", {
        retryAfterMs: waitMs,
      });
    }
  };
}
