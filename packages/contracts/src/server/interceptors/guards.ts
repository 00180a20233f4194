import type { Interceptor, UnaryRequest } from "@connectrpc/connect";
import { ProviderError } from "../../errors/provider-error.js";

/**
 * A check a call must pass before the provider sees it: it returns when the
 * call may go on and throws a ProviderError to refuse it.
 */
export type CallGuard = (req: UnaryRequest) => void;

/**
 * Runs guards in order, in one interceptor layer: they are synchronous
 * checks, and every interceptor layer costs each call a promise hop.
 */
export function createGuardInterceptor(guards: readonly CallGuard[]): Interceptor {
  return (next) => (req) => {
    if (!req.stream) {
      try {
        for (const guard of guards) guard(req);
      } catch (refused) {
        return Promise.reject(ProviderError.from(refused));
      }
    }
    return next(req);
  };
}
