import { ProviderError } from "@virtrigaud/contracts";
import { WatchEventType } from "@virtrigaud/proto/manager";
import pg from "pg";
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
} from "../backend.js";
import { snapshotPageSize, storeNotEmpty } from "../import-refusal.js";
import type { EventFilter, Fence } from "../store.js";
import {
  type ChangeRow,
  type EventRow,
  type ResourceRow,
  toStoredChange,
  toStoredEvent,
  toStoredResource,
} from "../stored-rows.js";
import { type PostgresLocation, clientConfig, redactUrl } from "./connection.js";
import { fenceQuery } from "./leader-lease.js";
import { migrate } from "./migrations.js";

/** The channel a commit notifies; only a wake-up: the changes table is the truth. */
const changesChannel = "virtrigaud_changes";

/** How often a replica looks for changes even without a notification (one may be lost on a reconnect). */
const pollIntervalMs = 2000;

/** How long the server lets a store session sit idle inside a transaction. */
const idleInTransactionMs = 5000;

/** The longest one statement of the store may run. */
const statementTimeoutMs = 30_000;

/** The longest wait between reconnections of the listening connection. */
const maxReconnectMs = 5000;

/** Options of a PostgreSQL backend. */
export interface PostgresBackendOptions extends PostgresLocation {
  /** Connections for reads and writes. Default: 4. */
  poolSize?: number;
  /** Told of connection trouble (never with the password). */
  onError?: (message: string, error: unknown) => void;
}

/** Whether a fence's lease still holds, by this replica's clock and in the database (see `fenceQuery`). */
async function fenceHolds(client: pg.ClientBase, fence: Fence): Promise<boolean> {
  return fence.holds() && (await fenceQuery(client, fence.lease));
}

/** Events as the columns after their sequence, one array each, in the events table's order (for unnest). */
function eventColumns(events: NewEvent[]): unknown[][] {
  return [
    events.map((e) => e.kind),
    events.map((e) => e.namespace),
    events.map((e) => e.name),
    events.map((e) => e.uid),
    events.map((e) => e.type),
    events.map((e) => e.reason),
    events.map((e) => e.message),
    events.map((e) => String(e.firstMs)),
    events.map((e) => String(e.lastMs)),
    events.map((e) => e.count),
  ];
}

/**
 * The store on PostgreSQL, shared by any number of managers. Every write
 * takes one row lock (store_meta), so writes commit in resourceVersion order
 * and a replica that reads the change log after version N misses nothing.
 * Commits NOTIFY the others, which then read the log; since notifications
 * are not kept across a lost connection, a reconnection (and a slow poll)
 * reads it too.
 */
export class PostgresBackend implements StoreBackend {
  readonly location: string;
  readonly #config: pg.ClientConfig;
  readonly #pool: pg.Pool;
  readonly #onError: (message: string, error: unknown) => void;
  #listener: pg.Client | undefined;
  #wake: (() => void) | undefined;
  #poll: NodeJS.Timeout | undefined;
  #reconnectMs = 250;
  #closed = false;

  private constructor(options: PostgresBackendOptions) {
    this.location = redactUrl(options.url);
    this.#config = clientConfig(options);
    this.#onError = options.onError ?? (() => undefined);
    this.#pool = new pg.Pool({
      ...this.#config,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      // A writer cut off mid-transaction holds the lease row (FOR SHARE) and
      // the write lock: the server ends its session after this long, so a
      // new leader can take over and the others can write again.
      idle_in_transaction_session_timeout: idleInTransactionMs,
      statement_timeout: statementTimeoutMs,
    });
    // An idle connection that breaks (the server restarted) is dropped by the pool; say so only.
    this.#pool.on("error", (err) => this.#onError("an idle store connection failed", err));
  }

  /**
   * Connects and brings the schema up to date.
   *
   * @throws ProviderError UNAVAILABLE naming the (redacted) URL when the
   * database cannot be reached or migrated.
   */
  static async open(options: PostgresBackendOptions): Promise<PostgresBackend> {
    const backend = new PostgresBackend(options);
    try {
      const client = await backend.#pool.connect();
      try {
        await migrate(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await backend.#pool.end().catch(() => undefined);
      throw backend.#typed(err);
    }
    return backend;
  }

  /** A failure of the database as the store's typed error, naming the redacted URL. */
  #typed(err: unknown): unknown {
    if (err instanceof ProviderError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return ProviderError.unavailable(
      `the manager's store at ${this.location} is unavailable (${message}); nothing was stored`,
      { cause: err },
    );
  }

  async #run<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw this.#typed(err);
    }
    let broken: Error | undefined;
    // The pool listens for errors of idle clients only: a checked-out one that the
    // server ends (a restart) would emit an unhandled 'error' and end the process.
    // Its query fails too; the connection is dropped on release.
    const onError = (err: Error) => (broken = err);
    client.on("error", onError);
    try {
      return await work(client);
    } catch (err) {
      if (!(err instanceof ProviderError)) broken = err as Error;
      throw this.#typed(err);
    } finally {
      client.off("error", onError);
      // A connection whose query failed may be mid-transaction or dead: never reuse it.
      client.release(broken);
    }
  }

  load(): Promise<{ resources: StoredResource[]; resourceVersion: number }> {
    return this.#run(async (client) => {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const rows = await client.query<ResourceRow>(
        "SELECT kind, namespace, name, resource_version, data FROM resources",
      );
      const meta = await client.query<{ resource_version: string }>(
        "SELECT resource_version FROM store_meta WHERE id = 1",
      );
      await client.query("COMMIT");
      return {
        resources: rows.rows.map(toStoredResource),
        resourceVersion: Number(meta.rows[0]?.resource_version ?? 0),
      };
    });
  }

  write(
    knownVersion: number,
    fences: Fence[],
    decide: (start: WriteStart) => WriteBatch | undefined,
  ): Promise<number[]> {
    return this.#run(async (client) => {
      await client.query("BEGIN");
      try {
        const meta = await client.query<{ resource_version: string }>(
          "SELECT resource_version FROM store_meta WHERE id = 1 FOR UPDATE",
        );
        const resourceVersion = Number(meta.rows[0]?.resource_version ?? 0);
        const missed =
          resourceVersion > knownVersion
            ? await this.#changesBetween(client, knownVersion, resourceVersion)
            : [];
        const held = new Map<Fence, boolean>();
        for (const fence of fences) held.set(fence, await fenceHolds(client, fence));
        const batch = decide({ missed, resourceVersion, fences: held });
        if (!batch) {
          await client.query("ROLLBACK");
          return [];
        }
        const sequences = await this.#store(client, batch);
        await client.query("COMMIT");
        return sequences;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  /** Writes a batch inside the open transaction; returns the new events' sequences. */
  async #store(client: pg.ClientBase, batch: WriteBatch): Promise<number[]> {
    const { changes } = batch;
    let sequences: number[] = [];
    if (changes.length > 0) {
      // The last change of each resource decides what the resources table holds.
      const last = new Map<string, StoredChange>();
      for (const c of changes) last.set(`${c.kind}/${c.namespace}/${c.name}`, c);
      const upserts = [...last.values()].filter((c) => c.type !== WatchEventType.DELETED);
      const deletes = [...last.values()].filter((c) => c.type === WatchEventType.DELETED);
      if (upserts.length > 0)
        await client.query(
          `INSERT INTO resources (kind, namespace, name, resource_version, data)
           SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])
           ON CONFLICT (kind, namespace, name) DO UPDATE
             SET resource_version = excluded.resource_version, data = excluded.data`,
          [
            upserts.map((c) => c.kind),
            upserts.map((c) => c.namespace),
            upserts.map((c) => c.name),
            upserts.map((c) => String(c.resourceVersion)),
            upserts.map((c) => Buffer.from(c.data as Uint8Array)),
          ],
        );
      if (deletes.length > 0)
        await client.query(
          `DELETE FROM resources r USING unnest($1::int[], $2::text[], $3::text[]) AS d(kind, namespace, name)
           WHERE r.kind = d.kind AND r.namespace = d.namespace AND r.name = d.name`,
          [deletes.map((c) => c.kind), deletes.map((c) => c.namespace), deletes.map((c) => c.name)],
        );
      await client.query(
        `INSERT INTO changes (resource_version, type, kind, namespace, name, data)
         SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[], $6::bytea[])`,
        [
          changes.map((c) => String(c.resourceVersion)),
          changes.map((c) => c.type),
          changes.map((c) => c.kind),
          changes.map((c) => c.namespace),
          changes.map((c) => c.name),
          changes.map((c) => Buffer.from(c.data as Uint8Array)),
        ],
      );
      const newest = String(changes[changes.length - 1]?.resourceVersion);
      await client.query("UPDATE store_meta SET resource_version = $1 WHERE id = 1", [newest]);
      // Delivered at commit, to every replica listening (this one included: harmless).
      await client.query("SELECT pg_notify($1, $2)", [changesChannel, newest]);
    }
    if (batch.events.length > 0) {
      const inserted = await client.query<{ seq: string }>(
        `INSERT INTO events (kind, namespace, name, uid, type, reason, message, first_ms, last_ms, count)
         SELECT kind, namespace, name, uid, type, reason, message, first_ms, last_ms, count
         FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
                     $8::bigint[], $9::bigint[], $10::int[])
           WITH ORDINALITY AS u(kind, namespace, name, uid, type, reason, message, first_ms, last_ms, count, ord)
         ORDER BY ord
         RETURNING seq`,
        eventColumns(batch.events),
      );
      // Identities are drawn in insertion order, which follows ORDER BY ord.
      sequences = inserted.rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    }
    if (batch.repeats.length > 0)
      await client.query(
        `UPDATE events SET count = events.count + u.times, last_ms = GREATEST(events.last_ms, u.last_ms)
         FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS u(seq, times, last_ms)
         WHERE events.seq = u.seq`,
        [
          batch.repeats.map((r) => String(r.sequence)),
          batch.repeats.map((r) => r.times),
          batch.repeats.map((r) => String(r.lastMs)),
        ],
      );
    return sequences;
  }

  async #changesBetween(
    client: pg.ClientBase,
    afterVersion: number,
    upToVersion: number,
  ): Promise<StoredChange[] | "expired"> {
    const oldest = await client.query<{ oldest: string | null }>(
      "SELECT min(resource_version) AS oldest FROM changes",
    );
    const first = oldest.rows[0]?.oldest;
    if (first === null || first === undefined) return afterVersion >= upToVersion ? [] : "expired";
    if (Number(first) > afterVersion + 1) return "expired";
    const rows = await client.query<ChangeRow>(
      "SELECT resource_version, type, kind, namespace, name, data FROM changes WHERE resource_version > $1 AND resource_version <= $2 ORDER BY resource_version",
      [String(afterVersion), String(upToVersion)],
    );
    return rows.rows.map(toStoredChange);
  }

  changesBetween(afterVersion: number, upToVersion: number): Promise<StoredChange[] | "expired"> {
    return this.#run((client) => this.#changesBetween(client, afterVersion, upToVersion));
  }

  listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    const args: Array<string | number> = [String(filter.afterSequence ?? 0)];
    const where: string[] = ["seq > $1"];
    const add = (column: string, value: string | number) => {
      args.push(value);
      where.push(`${column} = $${args.length}`);
    };
    if (filter.namespace) add("namespace", filter.namespace);
    if (filter.kind) add("kind", filter.kind);
    if (filter.name) add("name", filter.name);
    args.push(filter.limit || 500);
    return this.#run(async (client) => {
      const rows = await client.query<EventRow>(
        `SELECT * FROM (SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT $${args.length}) e ORDER BY seq`,
        args,
      );
      return rows.rows.map(toStoredEvent);
    });
  }

  /** The rows of a query through a cursor of the open transaction, a page at a time. */
  async *#pages<Row extends pg.QueryResultRow, Out>(
    client: pg.ClientBase,
    cursor: string,
    sql: string,
    map: (row: Row) => Out,
  ): AsyncGenerator<Out[]> {
    try {
      await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`);
      for (;;) {
        const { rows } = await client.query<Row>(`FETCH ${snapshotPageSize} FROM ${cursor}`);
        if (rows.length === 0) break;
        yield rows.map(map);
      }
      await client.query(`CLOSE ${cursor}`);
    } catch (err) {
      throw this.#typed(err);
    }
  }

  async exportAll<T>(use: (snapshot: StoreExport) => Promise<T>): Promise<T> {
    // What `use` throws (the target's refusal, say) is its own, not this store's failure.
    let failure: { error: unknown } | undefined;
    const value = await this.#run(async (client) => {
      // One snapshot for every page: writes committed meanwhile are not in it.
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try {
        const meta = await client.query<{ resource_version: string }>(
          "SELECT resource_version FROM store_meta WHERE id = 1",
        );
        let result: T | undefined;
        try {
          result = await use({
            resourceVersion: Number(meta.rows[0]?.resource_version ?? 0),
            resources: this.#pages(
              client,
              "export_resources",
              "SELECT kind, namespace, name, resource_version, data FROM resources ORDER BY kind, namespace, name",
              toStoredResource,
            ),
            events: this.#pages(
              client,
              "export_events",
              "SELECT * FROM events ORDER BY seq",
              toStoredEvent,
            ),
          });
        } catch (error) {
          failure = { error };
        }
        await client.query(failure ? "ROLLBACK" : "COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
    if (failure) throw failure.error;
    return value as T;
  }

  importAll(snapshot: StoreExport): Promise<ImportCounts> {
    return this.#run(async (client) => {
      await client.query("BEGIN");
      try {
        // The row every write locks first: no manager writes while the copy does.
        const meta = await client.query<{ resource_version: string }>(
          "SELECT resource_version FROM store_meta WHERE id = 1 FOR UPDATE",
        );
        const used = await client.query<{ used: boolean }>(
          "SELECT EXISTS (SELECT 1 FROM resources) OR EXISTS (SELECT 1 FROM events) " +
            "OR EXISTS (SELECT 1 FROM changes) AS used",
        );
        if (Number(meta.rows[0]?.resource_version ?? 0) !== 0 || used.rows[0]?.used)
          throw storeNotEmpty(this.location);
        let resources = 0;
        for await (const page of snapshot.resources) {
          await client.query(
            `INSERT INTO resources (kind, namespace, name, resource_version, data)
             SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bytea[])`,
            [
              page.map((r) => r.kind),
              page.map((r) => r.namespace),
              page.map((r) => r.name),
              page.map((r) => String(r.resourceVersion)),
              page.map((r) => Buffer.from(r.data)),
            ],
          );
          resources += page.length;
        }
        let events = 0;
        let lastSequence = 0;
        // Sequences are kept, so their order is; the identity then continues above the highest.
        for await (const page of snapshot.events) {
          await client.query(
            `INSERT INTO events (seq, kind, namespace, name, uid, type, reason, message, first_ms, last_ms, count)
             OVERRIDING SYSTEM VALUE
             SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[],
                                  $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::int[])`,
            [page.map((e) => String(e.sequence)), ...eventColumns(page)],
          );
          events += page.length;
          for (const e of page) lastSequence = Math.max(lastSequence, e.sequence);
        }
        if (lastSequence > 0)
          await client.query("SELECT setval(pg_get_serial_sequence('events', 'seq'), $1)", [
            String(lastSequence),
          ]);
        await client.query("UPDATE store_meta SET resource_version = $1 WHERE id = 1", [
          String(snapshot.resourceVersion),
        ]);
        // A replica left running finds the log too short and reads everything again.
        await client.query("SELECT pg_notify($1, $2)", [
          changesChannel,
          String(snapshot.resourceVersion),
        ]);
        await client.query("COMMIT");
        return { resources, events, resourceVersion: snapshot.resourceVersion };
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  compact(changesUpTo: number, eventsUpTo: number): Promise<void> {
    return this.#run(async (client) => {
      await client.query("DELETE FROM changes WHERE resource_version <= $1", [String(changesUpTo)]);
      await client.query("DELETE FROM events WHERE seq <= $1", [String(eventsUpTo)]);
    });
  }

  onForeignWrites(wake: () => void): void {
    this.#wake = wake;
    void this.#listen();
    this.#poll = setInterval(wake, pollIntervalMs);
    this.#poll.unref();
  }

  /** Keeps one connection listening for commits; on every (re)connection, reads the log once. */
  async #listen(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ ...this.#config, keepAlive: true });
    const retry = () => {
      if (this.#listener !== client) return;
      this.#listener = undefined;
      client.removeAllListeners();
      client.end().catch(() => undefined);
      if (this.#closed) return;
      const wait = this.#reconnectMs;
      this.#reconnectMs = Math.min(maxReconnectMs, this.#reconnectMs * 2);
      setTimeout(() => void this.#listen(), wait).unref();
    };
    this.#listener = client;
    client.on("error", (err) => {
      this.#onError("the store's listening connection failed; reconnecting", err);
      retry();
    });
    client.on("end", retry);
    client.on("notification", () => this.#wake?.());
    try {
      await client.connect();
      await client.query(`LISTEN ${changesChannel}`);
      this.#reconnectMs = 250;
      // Notifications sent while it was not listening are gone: read the log.
      this.#wake?.();
    } catch (err) {
      this.#onError("cannot listen for the store's changes; retrying", err);
      retry();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll) clearInterval(this.#poll);
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener) {
      listener.removeAllListeners();
      listener.on("error", () => undefined);
      await listener.end().catch(() => undefined);
    }
    await this.#pool.end().catch(() => undefined);
  }
}
