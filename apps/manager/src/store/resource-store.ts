import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type DescMessage, clone, create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { ProviderError } from "@virtrigaud/contracts";
import {
  ApplyOutcome,
  type Event,
  EventSchema,
  type EventType,
  type Kind,
  ObjectMetaSchema,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import Database from "better-sqlite3";
import { type AnyResource, type KindInfo, kindInfo, kinds } from "../manifest/kinds.js";

/** One stored change, as watchers see it. */
export interface Change {
  type: WatchEventType.ADDED | WatchEventType.MODIFIED | WatchEventType.DELETED;
  kind: Kind;
  /** The resource after the change; before it, for DELETED. Do not mutate. */
  message: AnyResource;
  resourceVersion: number;
}

/** Options of `openResourceStore`. */
export interface ResourceStoreOptions {
  /** Milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
  /** Changes kept for watches to resume from. Default: 100000. */
  changesKept?: number;
  /** Events kept. Default: 50000. */
  eventsKept?: number;
}

/** What an event is about and says. */
export interface EventInput {
  kind: Kind;
  namespace: string;
  name: string;
  uid?: string;
  type: EventType;
  reason: string;
  message: string;
}

/** Which events to list. */
export interface EventFilter {
  namespace?: string;
  kind?: Kind;
  name?: string;
  afterSequence?: number;
  limit?: number;
}

type Meta = NonNullable<AnyResource["metadata"]>;

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

/** The file, beside the store's, that names the process holding it. */
function pidFileOf(file: string): string {
  return join(dirname(file), "manager.pid");
}

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

/** The store's key of a resource. */
function resourceKey(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** The namespace a resource is in: "default" when unset. */
export function namespaceOf(message: AnyResource): string {
  return message.metadata?.namespace || "default";
}

function specSchema(info: KindInfo): DescMessage {
  const field = info.schema.fields.find((f) => f.name === "spec");
  if (field?.fieldKind !== "message") throw new Error(`${info.name} has no spec`);
  return field.message;
}

const specSchemas = new Map(kinds.map((k) => [k.kind, specSchema(k)]));

/**
 * The manager's durable state: every resource, a log of changes for
 * watches, and events, in one SQLite file (WAL). Every resource is also kept
 * decoded in memory, so reads cost no I/O. Writes are synchronous: when a
 * method returns, the change is in the file and survives the process being
 * killed.
 */
export class ResourceStore {
  readonly #db: Database.Database;
  readonly #dir: string;
  readonly #pidFile: string;
  readonly #now: () => number;
  readonly #changesKept: number;
  readonly #eventsKept: number;
  readonly #byKind = new Map<Kind, Map<string, AnyResource>>();
  readonly #listeners = new Set<(change: Change) => void>();
  readonly #lastEvent = new Map<string, { sequence: number; reason: string; message: string }>();
  #rv = 0;
  #writesSinceCompaction = 0;
  readonly #pending: Change[] = [];
  #dispatching = false;
  readonly #stmt: {
    upsert: Database.Statement;
    remove: Database.Statement;
    change: Database.Statement;
    compactChanges: Database.Statement;
    changesAfter: Database.Statement;
    oldestChange: Database.Statement;
    insertEvent: Database.Statement;
    bumpEvent: Database.Statement;
    compactEvents: Database.Statement;
  };

  constructor(file: string, options: ResourceStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#changesKept = options.changesKept ?? 100_000;
    this.#eventsKept = options.eventsKept ?? 50_000;
    this.#dir = dirname(file);
    this.#pidFile = pidFileOf(file);
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
        throw new StoreInUseError(this.#dir, livePid(this.#pidFile));
      throw storeError(err, this.#dir);
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
      compactChanges: this.#db.prepare("DELETE FROM changes WHERE rv <= ?"),
      changesAfter: this.#db.prepare(
        "SELECT rv, type, kind, namespace, name, data FROM changes WHERE rv > ? ORDER BY rv",
      ),
      oldestChange: this.#db.prepare("SELECT MIN(rv) AS rv FROM changes"),
      insertEvent: this.#db.prepare(
        "INSERT INTO events (kind, namespace, name, uid, type, reason, message, first_ms, last_ms, count) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
      ),
      bumpEvent: this.#db.prepare("UPDATE events SET count = count + 1, last_ms = ? WHERE seq = ?"),
      compactEvents: this.#db.prepare("DELETE FROM events WHERE seq <= ?"),
    };
    for (const k of kinds) this.#byKind.set(k.kind, new Map());
    const rows = this.#db
      .prepare("SELECT kind, namespace, name, rv, data FROM resources")
      .all() as Array<{ kind: number; namespace: string; name: string; rv: number; data: Buffer }>;
    for (const row of rows) {
      const info = kindInfo(row.kind);
      const message = fromBinary(info.schema, row.data) as AnyResource;
      this.#byKind.get(info.kind)?.set(resourceKey(info.kind, row.namespace, row.name), message);
      this.#rv = Math.max(this.#rv, row.rv);
    }
    const last = this.#db.prepare("SELECT MAX(rv) AS rv FROM changes").get() as {
      rv: number | null;
    };
    this.#rv = Math.max(this.#rv, last.rv ?? 0);
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
      throw storeError(err, this.#dir);
    }
  }

  /** The version of the last write. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** A resource, or undefined. The object is the store's own: do not mutate it. */
  get(kind: Kind, namespace: string, name: string): AnyResource | undefined {
    return this.#byKind.get(kind)?.get(resourceKey(kind, namespace, name));
  }

  /** Every resource of a kind, in one namespace or all. Do not mutate them. */
  list(kind: Kind, namespace?: string): AnyResource[] {
    const all = [...(this.#byKind.get(kind)?.values() ?? [])];
    return namespace === undefined ? all : all.filter((m) => namespaceOf(m) === namespace);
  }

  /** How many resources of a kind there are. */
  count(kind: Kind): number {
    return this.#byKind.get(kind)?.size ?? 0;
  }

  /** Calls `listener` after every write, synchronously. Returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #write(kind: Kind, message: AnyResource, type: Change["type"]): void {
    const meta = message.metadata as Meta;
    const namespace = meta.namespace;
    // Taken only once the write is in the file: a failed write leaves no gap.
    const rv = this.#rv + 1;
    meta.resourceVersion = String(rv);
    const info = kindInfo(kind);
    const data = toBinary(info.schema, message);
    this.#sql(() =>
      this.#db.transaction(() => {
        if (type === WatchEventType.DELETED) {
          this.#stmt.remove.run(kind, namespace, meta.name);
          this.#stmt.change.run(rv, type, kind, namespace, meta.name, data);
        } else {
          this.#stmt.upsert.run(kind, namespace, meta.name, rv, data);
          this.#stmt.change.run(rv, type, kind, namespace, meta.name, null);
        }
      })(),
    );
    this.#rv = rv;
    const key = resourceKey(kind, namespace, meta.name);
    if (type === WatchEventType.DELETED) this.#byKind.get(kind)?.delete(key);
    else this.#byKind.get(kind)?.set(key, message);
    if (++this.#writesSinceCompaction >= 1000) {
      this.#writesSinceCompaction = 0;
      // Housekeeping: on a full disk it fails, and waits for the next thousand writes.
      try {
        this.#stmt.compactChanges.run(rv - this.#changesKept);
      } catch {
        // Retried later.
      }
    }
    // Listeners that write start nested writes; deliver every change in
    // version order, each to every listener, never one inside another.
    this.#pending.push({ type, kind, message, resourceVersion: rv });
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let change = this.#pending.shift(); change; change = this.#pending.shift())
        for (const listener of this.#listeners) listener(change);
    } finally {
      this.#dispatching = false;
    }
  }

  /**
   * Creates a resource, or updates the spec, labels and annotations of an
   * existing one. The generation grows when the spec changes. Status and the
   * manager's metadata (uid, finalizers, timestamps) in `incoming` are ignored.
   *
   * @throws ProviderError CONFLICT when `metadata.resourceVersion` is set and
   * stale, or the resource is being deleted.
   */
  apply(
    kind: Kind,
    incoming: AnyResource,
    options: { finalizers?: string[]; dryRun?: boolean } = {},
  ): { message: AnyResource; outcome: ApplyOutcome } {
    const info = kindInfo(kind);
    const inMeta = incoming.metadata as Meta;
    const namespace = inMeta.namespace || "default";
    const existing = this.get(kind, namespace, inMeta.name);
    const expected = inMeta.resourceVersion;
    if (expected && existing?.metadata?.resourceVersion !== expected) {
      throw ProviderError.conflict(
        existing
          ? `${info.name} ${namespace}/${inMeta.name} is at resourceVersion ${existing.metadata?.resourceVersion}, not ${expected}: read it again and retry`
          : `${info.name} ${namespace}/${inMeta.name} does not exist, so resourceVersion ${expected} is stale`,
      );
    }
    if (!existing) {
      const message = clone(info.schema, incoming) as AnyResource;
      message.apiVersion = "";
      message.kind = "";
      message.status = undefined;
      message.metadata = create(ObjectMetaSchema, {
        name: inMeta.name,
        namespace,
        labels: { ...inMeta.labels },
        annotations: { ...inMeta.annotations },
        uid: randomUUID(),
        generation: 1n,
        finalizers: options.finalizers ?? [],
        creationTimestamp: timestampFromMs(this.#now()),
      });
      if (!options.dryRun) this.#write(kind, message, WatchEventType.ADDED);
      return { message, outcome: ApplyOutcome.CREATED };
    }
    const oldMeta = existing.metadata as Meta;
    const schema = specSchemas.get(kind) as DescMessage;
    const specChanged = !equals(schema, existing.spec as never, incoming.spec as never);
    // A resource being deleted takes new labels and annotations (a force-delete
    // annotation, say), not a new spec.
    if (oldMeta.deletionTimestamp && specChanged) {
      throw ProviderError.conflict(
        `${info.name} ${namespace}/${inMeta.name} is being deleted; its spec cannot change (apply it again once it is gone)`,
      );
    }
    const metaChanged =
      !sameMap(oldMeta.labels, inMeta.labels) || !sameMap(oldMeta.annotations, inMeta.annotations);
    if (!specChanged && !metaChanged) return { message: existing, outcome: ApplyOutcome.UNCHANGED };
    const message = clone(info.schema, existing) as AnyResource;
    const meta = message.metadata as Meta;
    meta.labels = { ...inMeta.labels };
    meta.annotations = { ...inMeta.annotations };
    if (specChanged) {
      message.spec = clone(schema, incoming.spec as never) as never;
      meta.generation += 1n;
    }
    if (!options.dryRun) this.#write(kind, message, WatchEventType.MODIFIED);
    return { message, outcome: ApplyOutcome.CONFIGURED };
  }

  /**
   * Changes a resource through `mutate` on a copy, and writes it when it
   * changed. The manager's own writes (status, finalizers, annotations)
   * go through here. Returns the resource as stored, or undefined when it
   * does not exist.
   */
  update<T extends AnyResource>(
    kind: Kind,
    namespace: string,
    name: string,
    mutate: (copy: T) => void,
  ): T | undefined {
    const existing = this.get(kind, namespace, name);
    if (!existing) return undefined;
    const info = kindInfo(kind);
    const copy = clone(info.schema, existing) as T;
    mutate(copy);
    if (equals(info.schema, copy, existing)) return existing as T;
    const meta = copy.metadata as Meta;
    if (meta.deletionTimestamp && meta.finalizers.length === 0) {
      this.#write(kind, copy, WatchEventType.DELETED);
      return undefined;
    }
    this.#write(kind, copy, WatchEventType.MODIFIED);
    return copy;
  }

  /**
   * Creates a resource the manager makes itself (a clone's VirtualMachine),
   * with its status already set.
   *
   * @throws ProviderError CONFLICT when it exists.
   */
  createOwned(kind: Kind, message: AnyResource, finalizers: string[]): AnyResource {
    const { message: made } = this.apply(kind, message, { finalizers, dryRun: true });
    if (this.get(kind, namespaceOf(made), made.metadata?.name ?? ""))
      throw ProviderError.conflict(`${kindInfo(kind).name} ${made.metadata?.name} exists`);
    made.status = message.status;
    this.#write(kind, made, WatchEventType.ADDED);
    return made;
  }

  /**
   * Asks for a resource to go: removed at once without finalizers, otherwise
   * marked with a deletion timestamp. Returns the marked resource, or
   * undefined when it went.
   *
   * @throws ProviderError NOT_FOUND when it does not exist; CONFLICT when
   * `resourceVersion` is set and stale.
   */
  requestDelete(
    kind: Kind,
    namespace: string,
    name: string,
    resourceVersion?: string,
  ): AnyResource | undefined {
    const existing = this.get(kind, namespace, name);
    const info = kindInfo(kind);
    if (!existing) throw ProviderError.notFound(`${info.name} ${namespace}/${name} does not exist`);
    if (resourceVersion && existing.metadata?.resourceVersion !== resourceVersion)
      throw ProviderError.conflict(
        `${info.name} ${namespace}/${name} is at resourceVersion ${existing.metadata?.resourceVersion}, not ${resourceVersion}`,
      );
    if (existing.metadata?.deletionTimestamp) return existing;
    return this.update(kind, namespace, name, (copy) => {
      (copy.metadata as Meta).deletionTimestamp = timestampFromMs(this.#now());
    });
  }

  /**
   * The changes after `resourceVersion`, oldest first, or "expired" when
   * the store no longer keeps changes that old. A resource that changed more
   * than once is reported once, as it is now.
   */
  changesSince(resourceVersion: number): Change[] | "expired" {
    if (resourceVersion >= this.#rv) return [];
    const oldest = this.#sql(() => this.#stmt.oldestChange.get() as { rv: number | null }).rv;
    if (oldest === null || oldest > resourceVersion + 1) return "expired";
    const rows = this.#sql(() => this.#stmt.changesAfter.all(resourceVersion)) as Array<{
      rv: number;
      type: number;
      kind: number;
      namespace: string;
      name: string;
      data: Buffer | null;
    }>;
    const firstType = new Map<string, number>();
    const lastRow = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      const key = resourceKey(row.kind, row.namespace, row.name);
      if (!firstType.has(key)) firstType.set(key, row.type);
      lastRow.set(key, row);
    }
    const latest: Change[] = [];
    for (const [key, row] of lastRow) {
      const kind = row.kind as Kind;
      if ((row.type as WatchEventType) === WatchEventType.DELETED) {
        const message = fromBinary(kindInfo(kind).schema, row.data as Buffer) as AnyResource;
        latest.push({ type: WatchEventType.DELETED, kind, message, resourceVersion: row.rv });
        continue;
      }
      const current = this.#byKind.get(kind)?.get(key);
      if (!current) continue;
      latest.push({
        type:
          firstType.get(key) === WatchEventType.ADDED
            ? WatchEventType.ADDED
            : WatchEventType.MODIFIED,
        kind,
        message: current,
        resourceVersion: Number(current.metadata?.resourceVersion ?? row.rv),
      });
    }
    return latest.sort((a, b) => a.resourceVersion - b.resourceVersion);
  }

  /**
   * Records an event. The same reason and message about the same object as
   * its last event counts as a repeat of it.
   */
  recordEvent(input: EventInput): void {
    const objectKey = resourceKey(input.kind, input.namespace, input.name);
    const now = this.#now();
    const last = this.#lastEvent.get(objectKey);
    if (last && last.reason === input.reason && last.message === input.message) {
      this.#sql(() => this.#stmt.bumpEvent.run(now, last.sequence));
      return;
    }
    const result = this.#sql(() =>
      this.#stmt.insertEvent.run(
        input.kind,
        input.namespace,
        input.name,
        input.uid ?? "",
        input.type,
        input.reason,
        input.message,
        now,
        now,
      ),
    );
    const sequence = Number(result.lastInsertRowid);
    this.#lastEvent.set(objectKey, { sequence, reason: input.reason, message: input.message });
    if (sequence % 1000 === 0) {
      try {
        this.#stmt.compactEvents.run(sequence - this.#eventsKept);
      } catch {
        // Housekeeping, retried at the next thousandth event.
      }
    }
  }

  /** Events, oldest first: the newest `limit` (default 500) that match. */
  listEvents(filter: EventFilter = {}): Event[] {
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
    const rows = this.#sql(() =>
      this.#db
        .prepare(
          `SELECT * FROM (SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
        )
        .all(...args),
    ) as Array<{
      seq: number;
      kind: number;
      namespace: string;
      name: string;
      uid: string;
      type: number;
      reason: string;
      message: string;
      first_ms: number;
      last_ms: number;
      count: number;
    }>;
    return rows.map((row) =>
      create(EventSchema, {
        sequence: BigInt(row.seq),
        involvedObject: {
          kind: kindInfo(row.kind as Kind).name,
          namespace: row.namespace,
          name: row.name,
          uid: row.uid,
        },
        type: row.type as EventType,
        reason: row.reason,
        message: row.message,
        firstTimestamp: timestampFromMs(row.first_ms),
        lastTimestamp: timestampFromMs(row.last_ms),
        count: row.count,
      }),
    );
  }

  /** Closes the file, which lets another manager open it. */
  close(): void {
    this.#db.close();
    try {
      rmSync(this.#pidFile, { force: true });
    } catch {
      // Informational only.
    }
  }
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => a[k] === b[k]);
}

/** Milliseconds since the epoch of a timestamp, or undefined. */
export function msOf(ts: Parameters<typeof timestampMs>[0] | undefined): number | undefined {
  return ts ? timestampMs(ts) : undefined;
}

/**
 * Opens (creating if needed) the store in `dataDir`: the file `manager.db`,
 * locked for this process until `close` (or the process's end, however it ends).
 *
 * @throws StoreInUseError when another process has the store open;
 * ProviderError for a full or read-only disk; Error when the directory
 * cannot be made or the file cannot be opened.
 */
export function openResourceStore(dataDir: string, options?: ResourceStoreOptions): ResourceStore {
  mkdirSync(dataDir, { recursive: true });
  return new ResourceStore(join(dataDir, "manager.db"), options);
}
