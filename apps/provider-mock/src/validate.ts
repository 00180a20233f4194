import type { MockOperation } from "./mock-context.js";

/** Validate: the mock is always reachable; it says how many VMs it holds. */
export const validate: MockOperation<"validate"> = (ctx) =>
  Promise.resolve({ message: `mock provider with ${ctx.store.vms.size} VMs` });
