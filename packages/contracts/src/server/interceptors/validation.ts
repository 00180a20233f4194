import type { Interceptor } from "@connectrpc/connect";
import { validateMessage } from "../../validation/validate-message.js";

/**
 * Checks each request against the rules declared in the proto before the
 * provider sees it, answering INVALID_SPEC with the offending field.
 */
export function createValidationInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) validateMessage(req.method.input, req.message);
    return next(req);
  };
}
