import type { MockOperation } from "./mock-context.js";

/**
 * Validate: the mock is always reachable; it says how many VMs it holds, and
 * the keys (never the values) of the credentials the manager handed over.
 */
export const validate: MockOperation<"validate"> = (ctx) => {
  const keys = [...ctx.credentials.keys()].sort();
  const credentials = keys.length ? `, credentials from the manager (${keys.join(", ")})` : "";
  return Promise.resolve({ message: `mock provider with ${ctx.store.vms.size} VMs${credentials}` });
};
