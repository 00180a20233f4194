import { validateMessage } from "../../validation/validate-message.js";
import type { CallGuard } from "./guards.js";

/**
 * Checks each request against the rules declared in the proto before the
 * provider sees it, answering INVALID_SPEC with the offending field.
 */
export const validationGuard: CallGuard = (req) => validateMessage(req.method.input, req.message);
