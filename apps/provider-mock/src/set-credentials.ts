import { ProviderError } from "@virtrigaud/contracts";
import type { MockOperation } from "./mock-context.js";

/**
 * SetCredentials: keeps the data in memory, replacing what it held; the mock
 * has no backend to log in to, so Validate only names the keys. Empty data
 * is refused: a provider that takes credentials needs some.
 */
export const setCredentials: MockOperation<"setCredentials"> = (ctx, request) => {
  const entries = Object.entries(request.data);
  if (!entries.length) throw ProviderError.invalidSpec("data", "the credentials are empty");
  ctx.credentials.clear();
  for (const [key, value] of entries) ctx.credentials.set(key, value);
  return Promise.resolve({});
};
