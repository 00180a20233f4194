import type { Interceptor } from "@connectrpc/connect";
import { ProviderError } from "../../errors/provider-error.js";
import type { RateLimiter } from "../../limits/rate-limiter.js";

/**
 * Sheds calls above the server's rate limit with RESOURCE_EXHAUSTED and the
 * time until a call would be admitted, which the client's retry honours.
 */
export function createRateLimitInterceptor(limiter: RateLimiter): Interceptor {
  return (next) => async (req) => {
    const waitMs = limiter.tryAcquire();
    if (waitMs > 0) {
      throw ProviderError.resourceExhausted("the provider's rate limit is exceeded", {
        retryAfterMs: waitMs,
      });
    }
    return next(req);
  };
}
