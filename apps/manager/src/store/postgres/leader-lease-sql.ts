// The leader lease's table and the statements that read and write it. Every
// time in them is PostgreSQL's clock_timestamp(): one clock for all replicas,
// read when the statement runs (after any lock wait), not when it started.

/**
 * The DDL of the lease table: one row per lease name. `term` grows by one
 * every time the lease is taken by a replica that was not leading, so a
 * term names one continuous leadership.
 */
export const leaderLeaseSchema = `CREATE TABLE IF NOT EXISTS leader_lease (
  name text PRIMARY KEY,
  holder text NOT NULL,
  term bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
)`;

/** The channel a resigning leader notifies, with the lease name as payload. */
export const leaseChannel = "virtrigaud_lease";

/**
 * Takes the lease ($1 name, $2 holder, $3 ttl in ms) when it is expired or
 * already held by $2, with the next term; in the same statement, reads the
 * row when it is not taken, so a follower learns who leads.
 *
 * ON CONFLICT ... DO UPDATE locks the row before its WHERE is checked, so two
 * replicas cannot both take it, and a writer holding the fence (FOR SHARE)
 * holds a takeover back until it commits. The update reads the clock itself,
 * after that wait: the VALUES row was stamped before it, and a term taken
 * after a wait would say it began while the last one still held.
 */
export const acquireLeaseSql = `WITH taken AS (
  INSERT INTO leader_lease AS lease (name, holder, term, acquired_at, renewed_at, expires_at)
  VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp(),
          clock_timestamp() + $3::integer * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    term = lease.term + 1,
    acquired_at = clock_timestamp(),
    renewed_at = clock_timestamp(),
    expires_at = clock_timestamp() + $3::integer * interval '1 millisecond'
  WHERE lease.expires_at <= clock_timestamp() OR lease.holder = excluded.holder
  RETURNING holder, term, acquired_at
)
SELECT holder, term::text AS term, acquired_at, true AS taken, true AS live FROM taken
UNION ALL
SELECT holder, term::text, acquired_at, false, expires_at > clock_timestamp()
  FROM leader_lease
 WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM taken)`;

/**
 * Extends the lease ($1 name, $2 holder, $3 term, $4 ttl in ms) while it is
 * still ours and unexpired; no row means it is lost. The expiry guard keeps a
 * renew that arrives late from reviving a lease another replica may take.
 */
export const renewLeaseSql = `UPDATE leader_lease
   SET renewed_at = clock_timestamp(),
       expires_at = clock_timestamp() + $4::integer * interval '1 millisecond'
 WHERE name = $1 AND holder = $2 AND term = $3::bigint AND expires_at > clock_timestamp()
RETURNING term::text AS term`;

/**
 * Gives the lease up ($1 name, $2 holder, $3 term): it expires now, and the
 * followers listening on the channel are told when the statement commits.
 */
export const resignLeaseSql = `WITH resigned AS (
  UPDATE leader_lease SET expires_at = clock_timestamp()
   WHERE name = $1 AND holder = $2 AND term = $3::bigint AND expires_at > clock_timestamp()
  RETURNING name
)
SELECT pg_notify('${leaseChannel}', name) FROM resigned`;

/**
 * Holds when the lease ($1 name, $2 holder, $3 term) is unexpired; FOR SHARE
 * keeps the row from being taken over until the caller's transaction ends.
 */
export const fenceLeaseSql = `SELECT 1 AS held FROM leader_lease
 WHERE name = $1 AND holder = $2 AND term = $3::bigint AND expires_at > clock_timestamp()
   FOR SHARE`;

/** What an acquire attempt read. */
export interface AcquireOutcome {
  /** True when this attempt took the lease. */
  taken: boolean;
  /** The holder and term in the row, taken or not. */
  holder: string;
  term: bigint;
  /** When the row's holder took it (its term began). */
  acquiredAt: Date;
  /** False when the row's lease had expired (nobody leads). */
  live: boolean;
}

/**
 * Reads the one row of `acquireLeaseSql`; undefined when the table has no row
 * for the name (it was not taken and nobody ever held it).
 *
 * @throws Error when the row does not have the statement's shape
 */
export function readAcquireOutcome(rows: readonly unknown[]): AcquireOutcome | undefined {
  const row = rows[0];
  if (row === undefined) return undefined;
  if (!isAcquireRow(row)) throw new Error("the lease acquire statement returned an unexpected row");
  return {
    taken: row.taken,
    holder: row.holder,
    term: BigInt(row.term),
    acquiredAt: row.acquired_at,
    live: row.live,
  };
}

interface AcquireRow {
  holder: string;
  term: string;
  acquired_at: Date;
  taken: boolean;
  live: boolean;
}

function isAcquireRow(row: unknown): row is AcquireRow {
  if (typeof row !== "object" || row === null) return false;
  const r = row as Record<string, unknown>;
  return (
    typeof r["holder"] === "string" &&
    typeof r["term"] === "string" &&
    /^\d+$/.test(r["term"]) &&
    r["acquired_at"] instanceof Date &&
    typeof r["taken"] === "boolean" &&
    typeof r["live"] === "boolean"
  );
}
