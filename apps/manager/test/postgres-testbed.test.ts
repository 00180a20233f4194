// The PostgreSQL test bed and its helpers (test/postgres.ts), which the
// PostgreSQL store's tests stand on: real databases on a real server.
import { describe, expect, it } from "@jest/globals";
import pg from "pg";
import { createTestDatabase, restartPostgres, testServerUrl } from "./postgres.js";

/** A connected client whose session errors (a restart ending it) are kept, not thrown. */
async function connect(url: string): Promise<{ client: pg.Client; errors: Error[] }> {
  const client = new pg.Client({ connectionString: url });
  const errors: Error[] = [];
  client.on("error", (err) => errors.push(err));
  await client.connect();
  return { client, errors };
}

async function databaseExists(name: string): Promise<boolean> {
  const { client } = await connect(testServerUrl());
  try {
    const result = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}

describe("the PostgreSQL test bed", () => {
  it("a test database is made empty and reachable, and drop removes it", async () => {
    const db = await createTestDatabase();
    try {
      const { client } = await connect(db.url);
      const current = await client.query<{ name: string }>("SELECT current_database() AS name");
      expect(current.rows[0]?.name).toBe(db.name);
      const tables = await client.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(tables.rowCount).toBe(0);
      await client.end();
      expect(await databaseExists(db.name)).toBe(true);
    } finally {
      await db.drop();
    }
    expect(await databaseExists(db.name)).toBe(false);
    await expect(connect(db.url)).rejects.toMatchObject({ code: "3D000" });
    await db.drop();
  });

  it("drop ends the connections a test left open", async () => {
    const db = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: db.url, max: 3 });
    pool.on("error", () => undefined);
    await Promise.all([1, 2, 3].map(() => pool.query("SELECT pg_sleep(0.01)")));
    const left = await connect(db.url);
    await db.drop();
    expect(await databaseExists(db.name)).toBe(false);
    await expect(left.client.query("SELECT 1")).rejects.toThrow();
    await pool.end().catch(() => undefined);
  });

  it("a restart ends sessions, keeps committed data and accepts connections again", async () => {
    const db = await createTestDatabase();
    try {
      const before = await connect(db.url);
      await before.client.query("CREATE TABLE kept (id int PRIMARY KEY, note text)");
      await before.client.query("INSERT INTO kept VALUES (1, 'committed before the restart')");

      await restartPostgres();

      await expect(before.client.query("SELECT 1")).rejects.toThrow();
      const after = await connect(db.url);
      const rows = await after.client.query<{ note: string }>("SELECT note FROM kept WHERE id = 1");
      expect(rows.rows[0]?.note).toBe("committed before the restart");
      await after.client.end();
    } finally {
      await db.drop();
    }
  }, 90_000);
});
