import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { ProviderError } from "@virtrigaud/contracts";
import { WatchEventType } from "@virtrigaud/proto/manager";
import Database from "better-sqlite3";
import type {
  ImportCounts,
  NewEvent,
  StoreBackend,
  StoreExport,
  StoredChange,
  StoredEvent,
  StoredResource,
  WriteBatch,
  WriteStart,
} from "./backend.js";
import { snapshotPageSize, storeNotEmpty } from "./import-refusal.js";
import type { EventFilter, Fence } from "./store.js";
import {
  type ChangeRow,
  type EventRow,
  type ResourceRow,
  toStoredChange,
  toStoredEvent,
  toStoredResource,
} from "./stored-rows.js";

/** Thrown when another process holds the store: one store directory serves one manager at a time. */
export class StoreInUseError extends Error {
  override name = "StoreInUseError";
  /** The process that holds it, when its pid file names a live one. */
  readonly pid: number | undefined;

  constructor(dataDir: string, pid?: number) {
    super(
      `${dataDir} is in use by another virtrigaud-manager${pid ? ` (pid ${pid})` : ""}: one store directory serves one manager at a time`,
    );
    this.pid = pid;
  }
}

/** How long opening the store waits for another process's lock to go (a predecessor still exiting). */
const lockWaitMs = 2000;

/** The pid in a pid file, when that process is alive. */
function livePid(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

/**
 * The typed error for a failure of the store's file: a full disk is
 * RESOURCE_EXHAUSTED, an I/O error or a read-only file UNAVAILABLE, each
 * naming the store's directory, so a client never sees a generic INTERNAL
 * for them. Anything else is returned as it is.
 */
export function storeError(err: unknown, dataDir: string): unknown {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return err;
  const options = { cause: err };
  if (code === "SQLITE_FULL")
    return ProviderError.resourceExhausted(
      `the manager's store at ${dataDir} is full: free space on its disk; nothing was stored`,
      options,
    );
  if (code.startsWith("SQLITE_READONLY"))
    return ProviderError.unavailable(
      `the manager's store at ${dataDir} is read-only; nothing was stored`,
      options,
    );
  if (code.startsWith("SQLITE_IOERR") || code === "SQLITE_CANTOPEN")
    return ProviderError.unavailable(
      `the manager's store at ${dataDir} cannot be read or written (${code}); nothing was stored`,
      options,
    );
  return err;
}

/** An event's columns after its sequence, in the events table's order. */
function eventColumns(e: NewEvent): Array<string | number> {
  return [
    e.kind,
    e.namespace,
    e.name,
    e.uid,
    e.type,
    e.reason,
    e.message,
    e.firstMs,
    e.lastMs,
    e.count,
  ];
}

/**
 * The embedded store: one SQLite file (WAL) in a directory, locked by this
 * process for as long as it is open, so it has no other writers. Commits are
 * durable against a crash of the process (not of the machine's power: the
 * last commits may then go, never the file).
 */
export class SqliteBackend implements StoreBackend {
  readonly location: string;
  readonly #db: Database.Database;
  readonly #pidFile: string;
  readonly #stmt: {
    upsert: Database.Statement;
    remove: Database.Statement;
    change: Database.Statement;
    changesBetween: Database.Statement;
    oldestChange: Database.Statement;
    insertEvent: Database.Statement;
    bumpEvent: Database.Statement;
  };

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, "manager.db");
    this.location = dirname(file);
    this.#pidFile = join(dataDir, "manager.pid");
    // The store holds cloud-init user data (passwords, keys): only the
    // manager's user may read it. SQLite gives its -wal file the mode of the
    // database file, so that is set first (a store made before is narrowed too).
    closeSync(openSync(file, "a", 0o600));
    chmodSync(file, 0o600);
    this.#db = new Database(file, { timeout: lockWaitMs });
    try {
      // Exclusive locking, set before WAL is first used: the file stays locked
      // for as long as this connection is open, so a second manager on the same
      // directory is refused instead of writing beside this one. The lock is
      // the operating system's, so it goes with the process, kill -9 included.
      // (The WAL index then lives in this process's memory: no -shm file.)
      this.#db.pragma("locking_mode = EXCLUSIVE");
      this.#db.pragma("journal_mode = WAL");
      this.#db.exec("BEGIN EXCLUSIVE; COMMIT");
    } catch (err) {
      this.#db.close();
      const code = (err as { code?: unknown }).code;
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
        throw new StoreInUseError(this.location, livePid(this.#pidFile));
      throw storeError(err, this.location);
    }
    // A process crash loses nothing with NORMAL in WAL mode; only a power loss
    // may drop the last commits, never corrupt the file.
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS resources (
        kind INTEGER NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        rv INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (kind, namespace, name)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS changes (
        rv INTEGER PRIMARY KEY, type INTEGER NOT NULL, kind INTEGER NOT NULL,
        namespace TEXT NOT NULL, name TEXT NOT NULL, data BLOB);
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, namespace TEXT NOT NULL,
        name TEXT NOT NULL, uid TEXT NOT NULL, type INTEGER NOT NULL, reason TEXT NOT NULL,
        message TEXT NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
        count INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS events_object ON events (namespace, kind, name);
      -- The version a copied store starts at (importAll): its change log is
      -- not copied, and the version of a last deletion lives only there.
      CREATE TABLE IF NOT EXISTS store_meta (
        id INTEGER PRIMARY KEY CHECK (id = 1), resource_version INTEGER NOT NULL);
    `);
    this.#stmt = {
      upsert: this.#db.prepare(
        "INSERT INTO resources (kind, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT (kind, namespace, name) DO UPDATE SET rv = excluded.rv, data = excluded.data",
      ),
      remove: this.#db.prepare(
        "DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?",
      ),
      change: this.#db.prepare(
        "INSERT INTO changes (rv, type, kind, namespace, name, data) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      changesBetween: this.#db.prepare(
        "SELECT rv AS resource_version, type, kind, namespace, name, data FROM changes WHERE rv > ? AND rv <= ? ORDER BY rv",
      ),
      oldestChange: this.#db.prepare("SELECT MIN(rv) AS rv FROM changes"),
      insertEvent: this.#db.prepare(
        "INSERT INTO events (kind, namespace, name, uid, type, reason, message, first_ms, last_ms, count) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      bumpEvent: this.#db.prepare(
        "UPDATE events SET count = count + ?, last_ms = MAX(last_ms, ?) WHERE seq = ?",
      ),
    };
    // For people and for the refusal of a second manager; the lock is what counts.
    try {
      writeFileSync(this.#pidFile, `${process.pid}\n`);
    } catch {
      // Informational only.
    }
  }

  /** Runs a statement of the store, its failures typed (see `storeError`). */
  #sql<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      throw storeError(err, this.location);
    }
  }

  /** The version of the last change the log or a copy recorded (resources may hold a higher one). */
  #loggedVersion(): number {
    const row = this.#sql(() =>
      this.#db
        .prepare(
          "SELECT MAX((SELECT COALESCE(MAX(rv), 0) FROM changes), " +
            "(SELECT COALESCE(MAX(resource_version), 0) FROM store_meta)) AS rv",
        )
        .get(),
    ) as { rv: number };
    return row.rv;
  }

  load(): Promise<{ resources: StoredResource[]; resourceVersion: number }> {
    const rows = this.#sql(() =>
      this.#db
        .prepare("SELECT kind, namespace, name, rv AS resource_version, data FROM resources")
        .all(),
    ) as ResourceRow[];
    let resourceVersion = this.#loggedVersion();
    const resources = rows.map((row) => {
      const resource = toStoredResource(row);
      resourceVersion = Math.max(resourceVersion, resource.resourceVersion);
      return resource;
    });
    return Promise.resolve({ resources, resourceVersion });
  }

  write(
    knownVersion: number,
    fences: Fence[],
    decide: (start: WriteStart) => WriteBatch | undefined,
  ): Promise<number[]> {
    return new Promise((resolve) => {
      // No one else writes this file: what this process knows is all there is.
      const batch = decide({
        missed: [],
        resourceVersion: knownVersion,
        fences: new Map(fences.map((f) => [f, f.holds()])),
      });
      if (!batch) return resolve([]);
      const sequences = this.#sql(() =>
        this.#db.transaction(() => {
          for (const c of batch.changes) {
            if (c.type === WatchEventType.DELETED)
              this.#stmt.remove.run(c.kind, c.namespace, c.name);
            else this.#stmt.upsert.run(c.kind, c.namespace, c.name, c.resourceVersion, c.data);
            // Only a deletion needs the resource in the log: no one else writes this file,
            // so the cache has every other change's resource as it is now.
            const logged = c.type === WatchEventType.DELETED ? c.data : null;
            this.#stmt.change.run(c.resourceVersion, c.type, c.kind, c.namespace, c.name, logged);
          }
          const seqs = batch.events.map((e) =>
            Number(this.#stmt.insertEvent.run(...eventColumns(e)).lastInsertRowid),
          );
          for (const r of batch.repeats) this.#stmt.bumpEvent.run(r.times, r.lastMs, r.sequence);
          return seqs;
        })(),
      );
      resolve(sequences);
    });
  }

  changesBetween(afterVersion: number, upToVersion: number): Promise<StoredChange[] | "expired"> {
    return new Promise((resolve) => {
      const oldest = this.#sql(() => this.#stmt.oldestChange.get() as { rv: number | null }).rv;
      if (oldest === null) return resolve(afterVersion >= upToVersion ? [] : "expired");
      if (oldest > afterVersion + 1) return resolve("expired");
      const rows = this.#sql(() =>
        this.#stmt.changesBetween.all(afterVersion, upToVersion),
      ) as ChangeRow[];
      resolve(rows.map(toStoredChange));
    });
  }

  listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    const where: string[] = ["seq > ?"];
    const args: Array<string | number> = [filter.afterSequence ?? 0];
    if (filter.namespace) {
      where.push("namespace = ?");
      args.push(filter.namespace);
    }
    if (filter.kind) {
      where.push("kind = ?");
      args.push(filter.kind);
    }
    if (filter.name) {
      where.push("name = ?");
      args.push(filter.name);
    }
    args.push(filter.limit || 500);
    return new Promise((resolve) => {
      const rows = this.#sql(() =>
        this.#db
          .prepare(
            `SELECT * FROM (SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
          )
          .all(...args),
      ) as EventRow[];
      resolve(rows.map(toStoredEvent));
    });
  }

  /** The rows of a query, a page at a time; the statement stays open between pages. */
  *#pages<Row, Out>(sql: string, map: (row: Row) => Out): Generator<Out[]> {
    let page: Out[] = [];
    const rows = this.#sql(() => this.#db.prepare(sql).iterate()) as IterableIterator<Row>;
    for (;;) {
      const next = this.#sql(() => rows.next());
      if (next.done) break;
      page.push(map(next.value));
      if (page.length < snapshotPageSize) continue;
      yield page;
      page = [];
    }
    if (page.length > 0) yield page;
  }

  async exportAll<T>(use: (snapshot: StoreExport) => Promise<T>): Promise<T> {
    // No transaction needed: this process holds the file's exclusive lock, so nothing else writes.
    const resources = this.#sql(
      () =>
        this.#db.prepare("SELECT COALESCE(MAX(rv), 0) AS rv FROM resources").get() as {
          rv: number;
        },
    ).rv;
    return use({
      resourceVersion: Math.max(resources, this.#loggedVersion()),
      resources: this.#pages(
        "SELECT kind, namespace, name, rv AS resource_version, data FROM resources ORDER BY kind, namespace, name",
        toStoredResource,
      ),
      events: this.#pages("SELECT * FROM events ORDER BY seq", toStoredEvent),
    });
  }

  async importAll(snapshot: StoreExport): Promise<ImportCounts> {
    // One transaction held across the snapshot's pages, which may come from another database.
    this.#sql(() => this.#db.exec("BEGIN IMMEDIATE"));
    try {
      const used = this.#sql(() =>
        this.#db
          .prepare(
            "SELECT EXISTS (SELECT 1 FROM resources) OR EXISTS (SELECT 1 FROM events) " +
              "OR EXISTS (SELECT 1 FROM changes) OR EXISTS (SELECT 1 FROM store_meta) AS used",
          )
          .get(),
      ) as { used: number };
      if (used.used) throw storeNotEmpty(this.location);
      const insertResource = this.#db.prepare(
        "INSERT INTO resources (kind, namespace, name, rv, data) VALUES (?, ?, ?, ?, ?)",
      );
      const insertEvent = this.#db.prepare(
        "INSERT INTO events (seq, kind, namespace, name, uid, type, reason, message, first_ms, last_ms, count) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      let resources = 0;
      let events = 0;
      for await (const page of snapshot.resources) {
        this.#sql(() => {
          for (const r of page)
            insertResource.run(r.kind, r.namespace, r.name, r.resourceVersion, r.data);
        });
        resources += page.length;
      }
      // Sequences are kept (AUTOINCREMENT continues above the highest), so their order is too.
      for await (const page of snapshot.events) {
        this.#sql(() => {
          for (const e of page) insertEvent.run(e.sequence, ...eventColumns(e));
        });
        events += page.length;
      }
      this.#sql(() =>
        this.#db
          .prepare("INSERT INTO store_meta (id, resource_version) VALUES (1, ?)")
          .run(snapshot.resourceVersion),
      );
      this.#sql(() => this.#db.exec("COMMIT"));
      return { resources, events, resourceVersion: snapshot.resourceVersion };
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  compact(changesUpTo: number, eventsUpTo: number): Promise<void> {
    return new Promise((resolve) => {
      this.#sql(() => {
        this.#db.prepare("DELETE FROM changes WHERE rv <= ?").run(changesUpTo);
        this.#db.prepare("DELETE FROM events WHERE seq <= ?").run(eventsUpTo);
      });
      resolve();
    });
  }

  close(): Promise<void> {
    this.#db.close();
    try {
      rmSync(this.#pidFile, { force: true });
    } catch {
      // Informational only.
    }
    return Promise.resolve();
  }
}
