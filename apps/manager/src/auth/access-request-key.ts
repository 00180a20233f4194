import { type ContextValues, createContextKey } from "@connectrpc/connect";
import type { AccessRequest } from "./access-decision.js";

/** Where a call keeps what the access rules were asked for it, allowed or not. */
const accessRequestKey = createContextKey<AccessRequest | undefined>(undefined, {
  description: "virtrigaud access request",
});

/** Records what a call asked the access rules, for its audit record (a refused Watch's kind, say). */
export function recordAccessRequest(values: ContextValues, request: AccessRequest): void {
  values.set(accessRequestKey, request);
}

/** What the call asked the access rules, if they ran. */
export function accessRequestOf(values: ContextValues): AccessRequest | undefined {
  return values.get(accessRequestKey);
}
