// Test helpers for the PostgreSQL test bed (tools/testbed/postgres): a database
// of its own per test, and a restart of the server mid-test. The manager's jest
// global setup brings the test bed up when its environment is missing.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";

/** A database made for one test on the test bed's server. */
export interface TestDatabase {
  /** Its name: vrtg_test_ and random hex, so it needs no quoting. */
  name: string;
  /** A connection URL to it, as the superuser postgres (trust authentication, no password). */
  url: string;
  /** Ends every connection to it and drops it; a second call does nothing. */
  drop(): Promise<void>;
}

/**
 * The test bed server's URL (its `postgres` database).
 *
 * @throws Error when VIRTRIGAUD_TEST_POSTGRES_URL is unset (the test bed is not up)
 */
export function testServerUrl(): string {
  const url = process.env["VIRTRIGAUD_TEST_POSTGRES_URL"];
  if (!url) {
    throw new Error(
      "VIRTRIGAUD_TEST_POSTGRES_URL is unset: run the tests with the manager's jest config " +
        "(its global setup runs tools/testbed/up.sh postgres) or source $VIRTRIGAUD_TESTBED/postgres.env",
    );
  }
  return url;
}

/** Runs `work` on a connection to the server's `postgres` database, then closes it. */
async function withServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testServerUrl() });
  // An error event with no listener would crash the test run (a restart ends this session).
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Makes an empty database with a unique name on the test bed's server.
 *
 * @throws Error when the server is unreachable or refuses CREATE DATABASE
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `vrtg_test_${randomBytes(8).toString("hex")}`;
  // An identifier cannot be a query parameter; the name is ours and needs no quoting.
  await withServer((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(testServerUrl());
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withServer(async (client) => {
        // Pools a test left open would keep the database; FORCE also ends
        // sessions that connect between the two statements.
        await client.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [name],
        );
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

/**
 * Restarts the test bed's server in place (same port, fast shutdown: every
 * session ends, committed data stays) and resolves once it accepts
 * connections again.
 *
 * @throws Error when VIRTRIGAUD_TEST_POSTGRES_RESTART is unset or the restart
 * fails (the message carries the script's output)
 */
export function restartPostgres(): Promise<void> {
  const script = process.env["VIRTRIGAUD_TEST_POSTGRES_RESTART"];
  if (!script) {
    return Promise.reject(
      new Error("VIRTRIGAUD_TEST_POSTGRES_RESTART is unset: the postgres test bed is not up"),
    );
  }
  return new Promise((resolve, reject) => {
    execFile(script, { timeout: 90_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${script} failed: ${err.message}\n${stderr}`, { cause: err }));
      else resolve();
    });
  });
}
