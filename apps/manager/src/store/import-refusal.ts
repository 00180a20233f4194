import { ProviderError } from "@virtrigaud/contracts";

/**
 * The refusal of an import into a store that holds something: a copy never
 * mixes two stores' resources, versions or events.
 */
export function storeNotEmpty(location: string): ProviderError {
  return ProviderError.conflict(
    `the store at ${location} is not empty: copy into a new store (an empty directory, or an empty database); nothing was stored`,
  );
}

/** How many rows a snapshot's page holds: large enough to be fast, small enough to stay light. */
export const snapshotPageSize = 1000;
