import { timestampMs } from "@bufbuild/protobuf/wkt";
import { CachedStore, type StoreOptions } from "./cached-store.js";
import type { PostgresLocation } from "./postgres/connection.js";
import { PostgresBackend } from "./postgres/postgres-backend.js";
import { SqliteBackend } from "./sqlite-backend.js";
import type { ResourceStore } from "./store.js";

export type { Change, Fence, ResourceStore } from "./store.js";
export type { StoreOptions } from "./cached-store.js";
export { StoreInUseError, storeError } from "./sqlite-backend.js";
export { namespaceOf } from "./write-plans.js";
export { isPostgresUrl } from "./postgres/connection.js";

/** Milliseconds since the epoch of a timestamp, or undefined. */
export function msOf(ts: Parameters<typeof timestampMs>[0] | undefined): number | undefined {
  return ts ? timestampMs(ts) : undefined;
}

/**
 * Opens (creating if needed) the embedded store in `dataDir`: the file
 * `manager.db`, locked for this process until `close` (or the process's end,
 * however it ends).
 *
 * @throws StoreInUseError when another process has the store open;
 * ProviderError for a full or read-only disk; Error when the directory
 * cannot be made or the file cannot be opened.
 */
export function openResourceStore(dataDir: string, options?: StoreOptions): Promise<ResourceStore> {
  return CachedStore.open(new SqliteBackend(dataDir), options);
}

/** Where a store is: a directory for the embedded one, or a PostgreSQL database. */
export type StoreLocation =
  | { dataDir: string }
  | { postgres: PostgresLocation; onError?: (message: string, error: unknown) => void };

/**
 * Opens the store at `location`: the embedded one (see `openResourceStore`),
 * or one on PostgreSQL shared with other managers (its schema migrated first).
 *
 * @throws as `openResourceStore`; ProviderError UNAVAILABLE when PostgreSQL
 * cannot be reached, naming its URL without the password.
 */
export async function openStore(
  location: StoreLocation,
  options?: StoreOptions,
): Promise<ResourceStore> {
  if ("dataDir" in location) return openResourceStore(location.dataDir, options);
  const backend = await PostgresBackend.open({
    ...location.postgres,
    ...(location.onError && { onError: location.onError }),
  });
  return CachedStore.open(backend, options);
}
