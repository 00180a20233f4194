import type { Provider, ProviderContext } from "../src/index.js";

/**
 * A provider whose methods tests replace one at a time. Every method it does
 * not override answers an empty response; it declares no optional capability.
 */
export function stubProvider(overrides: Partial<Provider> = {}): Provider {
  const empty = () => Promise.resolve({});
  return {
    validate: () => Promise.resolve({ message: "stub" }),
    getCapabilities: () => Promise.resolve({ capabilities: { providerType: "stub" } }),
    create: () => Promise.resolve({ vmId: "vm-1" }),
    delete: empty,
    power: empty,
    reconfigure: empty,
    describe: () => Promise.resolve({ exists: false }),
    listVMs: empty,
    getTask: (request) => Promise.resolve({ task: { id: request.task?.id ?? "", done: true } }),
    ...overrides,
  };
}

/** Resolves when the signal aborts, with the signal's reason. */
export function aborted(ctx: ProviderContext): Promise<unknown> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) resolve(ctx.signal.reason);
    ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason), { once: true });
  });
}
