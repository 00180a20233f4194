import { type ProviderContext, createLogger } from "@virtrigaud/contracts";

/** A context for calling a provider's methods directly, without a server. */
export function createProviderContext(): ProviderContext {
  return {
    signal: new AbortController().signal,
    deadline: undefined,
    requestId: "bench",
    method: "listVMs",
    logger: createLogger({ level: "silent" }),
  };
}
