import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ImportCounts, StoreBackend } from "./store/backend.js";
import { type PostgresLocation, isPostgresUrl, redactUrl } from "./store/postgres/connection.js";
import { PostgresBackend } from "./store/postgres/postgres-backend.js";
import { SqliteBackend } from "./store/sqlite-backend.js";

/** One end of a copy: a store directory (SQLite) or a PostgreSQL URL. */
interface CopyEnd {
  /** A directory, or a postgres:// URL. */
  store: string;
  /** The PostgreSQL password's file (its first line). */
  passwordFile?: string;
}

/** Options of `copyStore`. */
interface CopyStoreOptions {
  from: CopyEnd;
  to: CopyEnd;
}

/** What a copy moved. */
interface CopyStoreResult extends ImportCounts {
  /** The source and the target, passwords redacted. */
  from: string;
  to: string;
  elapsedMs: number;
}

/** A copy that cannot start as asked: a usage error, before anything is opened. */
export class CopyStoreUsageError extends Error {
  override name = "CopyStoreUsageError";
}

function describe(end: CopyEnd): string {
  return isPostgresUrl(end.store) ? redactUrl(end.store) : resolve(end.store);
}

async function openEnd(end: CopyEnd, role: "source" | "target"): Promise<StoreBackend> {
  if (isPostgresUrl(end.store)) {
    const location: PostgresLocation = {
      url: end.store,
      ...(end.passwordFile ? { passwordFile: end.passwordFile } : {}),
    };
    return PostgresBackend.open({ ...location, poolSize: 1 });
  }
  // Opening a directory makes a store there: a source must already be one.
  if (role === "source" && !existsSync(join(end.store, "manager.db")))
    throw new CopyStoreUsageError(`${resolve(end.store)} holds no store (no manager.db)`);
  return new SqliteBackend(end.store);
}

/**
 * Copies every resource, every event and the resourceVersion of one store
 * into another that is empty, in one transaction of the target. The change
 * log is not copied: a watch resuming from before the copy is told its
 * version expired and lists again.
 *
 * @throws CopyStoreUsageError when both ends are the same store or the
 * source directory holds none; StoreInUseError when a manager has a SQLite
 * end open; ProviderError CONFLICT when the target is not empty; ProviderError
 * UNAVAILABLE when a database cannot be reached.
 */
export async function copyStore(options: CopyStoreOptions): Promise<CopyStoreResult> {
  const from = describe(options.from);
  const to = describe(options.to);
  if (from === to) throw new CopyStoreUsageError(`--from and --to are the same store (${from})`);
  const started = performance.now();
  const source = await openEnd(options.from, "source");
  try {
    const target = await openEnd(options.to, "target");
    try {
      const counts = await source.exportAll((snapshot) => target.importAll(snapshot));
      return { ...counts, from, to, elapsedMs: performance.now() - started };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
