import type pg from "pg";

/**
 * The PostgreSQL schema, as numbered steps. A step, once released, never
 * changes: a new one is added. Each runs in the transaction that records it.
 */
const migrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: "resources, changes, events and the controllers' lease",
    sql: `
      CREATE TABLE store_meta (
        id int PRIMARY KEY CHECK (id = 1),
        resource_version bigint NOT NULL);
      INSERT INTO store_meta VALUES (1, 0);
      CREATE TABLE resources (
        kind int NOT NULL, namespace text NOT NULL, name text NOT NULL,
        resource_version bigint NOT NULL, data bytea NOT NULL,
        PRIMARY KEY (kind, namespace, name));
      CREATE TABLE changes (
        resource_version bigint PRIMARY KEY, type int NOT NULL, kind int NOT NULL,
        namespace text NOT NULL, name text NOT NULL, data bytea NOT NULL);
      CREATE TABLE events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind int NOT NULL, namespace text NOT NULL, name text NOT NULL, uid text NOT NULL,
        type int NOT NULL, reason text NOT NULL, message text NOT NULL,
        first_ms bigint NOT NULL, last_ms bigint NOT NULL, count int NOT NULL);
      CREATE INDEX events_object ON events (namespace, kind, name);
      CREATE TABLE leader_lease (
        name text PRIMARY KEY, holder text NOT NULL, term bigint NOT NULL,
        acquired_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL);
    `,
  },
];

/** Any number of managers that start at once agree on it: they migrate one after another. */
const migrationLock = 0x76697274; // "virt"

/**
 * Brings the database's schema up to date, in one transaction under a
 * transaction-scoped advisory lock, so managers starting together migrate
 * one at a time and the later ones find nothing left to do.
 *
 * @returns the versions applied now.
 * @throws Error when the database is newer than this manager knows.
 */
export async function migrate(client: pg.ClientBase): Promise<number[]> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [migrationLock]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map(
        (r) => r.version,
      ),
    );
    const newest = Math.max(0, ...done);
    const known = Math.max(...migrations.map((m) => m.version));
    if (newest > known)
      throw new Error(
        `the database's schema is at version ${newest}, newer than this manager's ${known}: run a newer virtrigaud-manager`,
      );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
