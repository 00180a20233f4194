import type { Capabilities } from "@virtrigaud/proto";
import { ProviderError } from "../../errors/provider-error.js";
import type { ProviderMethodName } from "../../provider.js";
import { findUndeclared } from "../capabilities.js";
import type { CallGuard } from "./guards.js";

/**
 * Answers UNSUPPORTED for any RPC or option the provider did not declare in
 * GetCapabilities, before the provider sees the call.
 */
export function createCapabilityGuard(capabilities: Capabilities): CallGuard {
  return (req) => {
    const missing = findUndeclared(
      req.method.localName as ProviderMethodName,
      req.message,
      capabilities,
    );
    if (missing) throw ProviderError.unsupported(missing);
  };
}
