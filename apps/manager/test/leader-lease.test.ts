// The leader lease against a real PostgreSQL server
// (VIRTRIGAUD_TEST_POSTGRES_URL): election, hand-over on close, take-over
// after a leader dies, a leader cut off by a stalled network path, and the
// fence. Replicas share this process, so their monotonic times compare.

import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@jest/globals";
import pg from "pg";
import {
  type LeaderInfo,
  type LeaderLease,
  type LeaderLeaseOptions,
  type LeaseTerm,
  type LeaseStopReason,
  type LeaseTimers,
  fenceQuery,
  startLeaderLease,
} from "../src/store/postgres/leader-lease.js";
import {
  acquireLeaseSql,
  leaderLeaseSchema,
  readAcquireOutcome,
} from "../src/store/postgres/leader-lease-sql.js";
import { type StallingTcpProxy, startStallingTcpProxy } from "./stalling-tcp-proxy.js";

const timing = {
  ttlMs: 3000,
  renewIntervalMs: 1000,
  retryIntervalMs: 400,
  safetyMarginMs: 250,
  stopAllowanceMs: 500,
};
/** ttl - margin - allowance: how long a leader leads after its last renew was sent. */
const leadWindowMs = 2250;

const now = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean, timeoutMs: number) {
  const deadline = now() + timeoutMs;
  while (!condition()) {
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

let admin: pg.Client;
let pool: pg.Pool;
let databaseUrl: URL;
let databaseName: string;
const timings: Record<string, number> = {};

beforeAll(async () => {
  const serverUrl = process.env["VIRTRIGAUD_TEST_POSTGRES_URL"];
  if (!serverUrl) {
    throw new Error("VIRTRIGAUD_TEST_POSTGRES_URL is not set: bring the postgres test bed up");
  }
  databaseName = `lease_${randomUUID().replaceAll("-", "")}`;
  admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${databaseName}`);
  databaseUrl = new URL(serverUrl);
  databaseUrl.pathname = `/${databaseName}`;
  pool = new pg.Pool({ connectionString: databaseUrl.href });
  // DROP DATABASE ... WITH (FORCE) may end a pool client still saying goodbye.
  pool.on("error", () => undefined);
  await pool.query(leaderLeaseSchema);
});

afterAll(async () => {
  await pool?.end();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await admin.end();
  }
  console.info(`leader lease timings (ms): ${JSON.stringify(timings)}`);
});

/** Waits, reading without locks, until the server's clock passes the lease's expiry. */
async function waitForExpiry(name: string) {
  const expired = async () =>
    (
      await pool.query<{ expired: boolean }>(
        "SELECT expires_at <= clock_timestamp() AS expired FROM leader_lease WHERE name = $1",
        [name],
      )
    ).rows[0]?.expired === true;
  while (!(await expired())) await sleep(20);
}

/** Starts a proxy to the test database, closed after the test, and the URL through it. */
async function useStallingProxy() {
  const proxy = await startStallingTcpProxy({
    host: databaseUrl.hostname,
    port: Number(databaseUrl.port || 5432),
  });
  proxies.push(proxy);
  const url = new URL(databaseUrl.href);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return { proxy, url };
}

interface Replica {
  id: string;
  lease: LeaderLease;
  /** Each time it began leading: when, with which term, and whether any other replica's current() still held. */
  leading: { at: number; term: bigint; othersCurrent: boolean }[];
  stopped: { at: number; reason: LeaseStopReason }[];
}

const started: Replica[] = [];
const proxies: StallingTcpProxy[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.lease.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

/** Starts a replica on lease `name`, one of `group` (whose current()s must never overlap). */
function startReplica(
  group: Replica[],
  id: string,
  name: string,
  options: Partial<LeaderLeaseOptions> = {},
): Replica {
  const leading: Replica["leading"] = [];
  const stopped: Replica["stopped"] = [];
  const lease = startLeaderLease({
    ...timing,
    connection: { connectionString: databaseUrl.href },
    identity: id,
    name,
    onLeading: (term) =>
      leading.push({
        at: now(),
        term,
        othersCurrent: group.some((r) => r.id !== id && r.lease.current() !== undefined),
      }),
    onStopped: (reason) => void stopped.push({ at: now(), reason }),
    ...options,
  });
  const replica: Replica = { id, lease, leading, stopped };
  group.push(replica);
  started.push(replica);
  return replica;
}

function leaders(group: Replica[]) {
  return group.filter((r) => r.lease.current() !== undefined);
}

/** Samples every replica's current() every 2 ms: the most that held at once, and when each last held. */
function sampleOverlap(group: Replica[]) {
  const lastCurrentAt = new Map<string, number>();
  let most = 0;
  const timer = setInterval(() => {
    const holding = leaders(group);
    most = Math.max(most, holding.length);
    for (const r of holding) lastCurrentAt.set(r.id, now());
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return { most, lastCurrentAt };
    },
  };
}

/** Timers that can be frozen: pending callbacks are dropped and new ones never run, as in a killed process. */
function freezableTimers() {
  let frozen = false;
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const timers: LeaseTimers = {
    setTimeout(callback, ms) {
      if (frozen) return undefined;
      const handle = setTimeout(() => {
        pending.delete(handle);
        if (!frozen) callback();
      }, ms);
      pending.add(handle);
      return handle;
    },
    clearTimeout(handle) {
      clearTimeout(handle as ReturnType<typeof setTimeout>);
      pending.delete(handle as ReturnType<typeof setTimeout>);
    },
  };
  return {
    timers,
    freeze() {
      frozen = true;
      for (const handle of pending) clearTimeout(handle);
      pending.clear();
    },
  };
}

describe("leader lease", () => {
  it("elects one of three replicas, with term 1, and the others read who leads", async () => {
    const group: Replica[] = [];
    for (const id of ["a", "b", "c"]) startReplica(group, id, "elect");
    await waitFor("a leader", () => leaders(group).length > 0, 5000);
    // Every follower has tried at least once more by now.
    await sleep(timing.retryIntervalMs * 2);
    const [leader, ...rest] = leaders(group);
    expect(rest).toEqual([]);
    const leadsWith: LeaseTerm = { name: "elect", identity: leader!.id, term: 1n };
    expect(leader?.lease.current()).toEqual(leadsWith);
    const leadingOne: Pick<LeaderInfo, "identity" | "term"> = { identity: leader!.id, term: 1n };
    for (const r of group) {
      expect(r.lease.leader()).toMatchObject(leadingOne);
      expect(r.lease.leader()?.since).toBeInstanceOf(Date);
      expect(r.leading.map((l) => l.term)).toEqual(r === leader ? [1n] : []);
    }
  }, 15_000);

  it("hands over within the retry interval when the leader closes, with term 2", async () => {
    const group: Replica[] = [];
    for (const id of ["a", "b", "c"]) startReplica(group, id, "handover");
    await waitFor("a leader", () => leaders(group).length > 0, 5000);
    const old = leaders(group)[0]!;
    await sleep(timing.retryIntervalMs * 2);

    const closedAt = now();
    await old.lease.close();
    expect(old.stopped.map((s) => s.reason)).toEqual(["closed"]);
    expect(old.lease.current()).toBeUndefined();
    await waitFor("a new leader", () => leaders(group).length > 0, timing.retryIntervalMs);
    const next = leaders(group)[0]!;
    timings["handover after close"] = Math.round(next.leading[0]!.at - closedAt);
    expect(next.leading.map(({ term, othersCurrent }) => ({ term, othersCurrent }))).toEqual([
      { term: 2n, othersCurrent: false },
    ]);
    expect(next.leading[0]!.at).toBeGreaterThan(old.stopped[0]!.at);
    expect(next.leading[0]!.at - closedAt).toBeLessThan(timing.retryIntervalMs);
  }, 15_000);

  it("replaces a leader whose renews stop (killed) after the lease expires, never two at once", async () => {
    const group: Replica[] = [];
    const killable = freezableTimers();
    const victim = startReplica(group, "victim", "kill", { timers: killable.timers });
    await waitFor("the victim to lead", () => victim.lease.current() !== undefined, 5000);
    startReplica(group, "b", "kill");
    startReplica(group, "c", "kill");
    await sleep(timing.renewIntervalMs * 1.5);

    const sampler = sampleOverlap(group);
    const killedAt = now();
    killable.freeze();
    await waitFor(
      "a new leader",
      () => group.some((r) => r !== victim && r.leading.length > 0),
      8000,
    );
    await sleep(50);
    const { most, lastCurrentAt } = sampler.stop();
    const next = group.find((r) => r !== victim && r.leading.length > 0)!;
    const takeover = next.leading[0]!;
    timings["takeover after kill"] = Math.round(takeover.at - killedAt);
    timings["kill: victim's last current() before the new term"] = Math.round(
      takeover.at - lastCurrentAt.get("victim")!,
    );

    expect(most).toBe(1);
    expect(takeover).toMatchObject({ term: 2n, othersCurrent: false });
    expect(lastCurrentAt.get("victim")!).toBeLessThan(takeover.at);
    // Its timers are gone, so only current()'s own clock check stopped it.
    expect(victim.stopped).toEqual([]);
    expect(victim.lease.current()).toBeUndefined();
    // The lease lasts ttl after the last renew, sent at most a renew interval before the kill.
    expect(takeover.at - killedAt).toBeGreaterThan(timing.ttlMs - timing.renewIntervalMs);
    expect(takeover.at - killedAt).toBeLessThan(timing.ttlMs + timing.retryIntervalMs + 500);
  }, 20_000);

  it("stops a leader cut off by a stalled path before another takes over; healed, it follows, and later leads with a new term", async () => {
    const group: Replica[] = [];
    const { proxy, url: viaProxy } = await useStallingProxy();
    const cutOff = startReplica(group, "cut-off", "stall", {
      connection: { connectionString: viaProxy.href },
    });
    await waitFor("the cut-off one to lead", () => cutOff.lease.current() !== undefined, 5000);
    const b = startReplica(group, "b", "stall");
    const c = startReplica(group, "c", "stall");
    await sleep(timing.renewIntervalMs * 1.5);

    const sampler = sampleOverlap(group);
    const stalledAt = now();
    proxy.stall();
    await waitFor("a new leader", () => b.leading.length + c.leading.length > 0, 8000);
    await sleep(50);
    const { most, lastCurrentAt } = sampler.stop();
    const next = b.leading.length > 0 ? b : c;
    const takeover = next.leading[0]!;
    const stop = cutOff.stopped[0]!;
    timings["stall: onStopped after the stall"] = Math.round(stop.at - stalledAt);
    timings["stall: takeover after onStopped"] = Math.round(takeover.at - stop.at);

    expect(most).toBe(1);
    expect(cutOff.stopped.map((s) => s.reason)).toEqual(["deadline"]);
    expect(stop.at).toBeLessThan(takeover.at);
    expect(lastCurrentAt.get("cut-off")!).toBeLessThan(takeover.at);
    expect(takeover).toMatchObject({ term: 2n, othersCurrent: false });
    // It stops within the lead window of its last renew, sent before the stall.
    expect(stop.at - stalledAt).toBeLessThan(leadWindowMs + 100);

    proxy.heal();
    const healedAt = now();
    await waitFor(
      "the healed one to read the new leader",
      () => cutOff.lease.leader()?.identity === next.id,
      timing.renewIntervalMs + timing.retryIntervalMs * 3,
    );
    timings["stall: follower again after healing"] = Math.round(now() - healedAt);
    expect(cutOff.lease.current()).toBeUndefined();
    expect(next.lease.current()).toMatchObject({ term: 2n });

    // With the others gone, it leads again, with a term of its own.
    await Promise.all([b.lease.close(), c.lease.close()]);
    await waitFor("the healed one to lead", () => cutOff.lease.current() !== undefined, 5000);
    expect(cutOff.leading.map((l) => l.term)).toEqual([1n, 3n]);
  }, 25_000);

  it("stops as deposed when a renew finds the lease taken, and leads again later with a new term", async () => {
    const group: Replica[] = [];
    const replica = startReplica(group, "a", "deposed");
    await waitFor("it to lead", () => replica.lease.current() !== undefined, 5000);
    // Another holder's term, as a takeover it missed would leave, for 2 s.
    await pool.query(
      `UPDATE leader_lease SET holder = 'intruder', term = term + 1,
         expires_at = clock_timestamp() + interval '2 seconds' WHERE name = 'deposed'`,
    );
    const takenAt = now();
    await waitFor("it to stop", () => replica.stopped.length > 0, timing.renewIntervalMs + 500);
    expect(replica.stopped.map((s) => s.reason)).toEqual(["deposed"]);
    expect(replica.lease.current()).toBeUndefined();
    await waitFor(
      "it to read the intruder",
      () => replica.lease.leader()?.identity === "intruder",
      timing.retryIntervalMs * 2,
    );
    await waitFor("it to lead again", () => replica.leading.length === 2, 5000);
    expect(replica.leading.map((l) => l.term)).toEqual([1n, 3n]);
    expect(replica.leading[1]!.at - takenAt).toBeGreaterThan(1900);
  }, 15_000);

  it("fences writes: only the holder's unexpired term passes, and a takeover waits for a fenced transaction", async () => {
    await pool.query(
      `INSERT INTO leader_lease VALUES
         ('fence', 'a', 5, clock_timestamp(), clock_timestamp(), clock_timestamp() + interval '1500 milliseconds'),
         ('fence-expired', 'a', 5, clock_timestamp(), clock_timestamp(), clock_timestamp())`,
    );
    const writer = await pool.connect();
    try {
      await writer.query("BEGIN");
      expect(await fenceQuery(writer, { name: "fence-expired", holder: "a", term: 5n })).toBe(
        false,
      );
      expect(await fenceQuery(writer, { name: "fence", holder: "a", term: 4n })).toBe(false);
      expect(await fenceQuery(writer, { name: "fence", holder: "b", term: 5n })).toBe(false);
      expect(await fenceQuery(writer, { name: "fence", holder: "a", term: 5n })).toBe(true);

      // Even past the expiry, a takeover waits for the fenced transaction to end.
      const takeover = pool.query(acquireLeaseSql, ["fence", "b", timing.ttlMs]);
      let settled = false;
      void takeover.then(() => (settled = true));
      await waitForExpiry("fence");
      await sleep(200);
      expect(settled).toBe(false);
      await writer.query("COMMIT");
      expect(readAcquireOutcome((await takeover).rows)).toMatchObject({
        taken: true,
        holder: "b",
        term: 6n,
      });

      await writer.query("BEGIN");
      expect(await fenceQuery(writer, { name: "fence", holder: "a", term: 5n })).toBe(false);
      expect(await fenceQuery(writer, { name: "fence", holder: "b", term: 6n })).toBe(true);
      await writer.query("ROLLBACK");
    } finally {
      writer.release();
    }
  }, 10_000);

  it("a fenced transaction cut off mid-way holds a takeover back only until idle_in_transaction_session_timeout ends it", async () => {
    await pool.query(
      `INSERT INTO leader_lease VALUES ('fence-cut', 'a', 1, clock_timestamp(), clock_timestamp(),
         clock_timestamp() + interval '300 milliseconds')`,
    );
    const { proxy, url } = await useStallingProxy();
    const writer = new pg.Client({
      connectionString: url.href,
      idle_in_transaction_session_timeout: 1500,
    });
    writer.on("error", () => undefined);
    await writer.connect();
    await writer.query("BEGIN");
    expect(await fenceQuery(writer, { name: "fence-cut", holder: "a", term: 1n })).toBe(true);
    const fencedAt = now();
    // Its COMMIT never arrives; the server sees an idle transaction holding the row.
    proxy.stall();
    await waitForExpiry("fence-cut");
    const outcome = readAcquireOutcome(
      (await pool.query(acquireLeaseSql, ["fence-cut", "b", timing.ttlMs])).rows,
    );
    timings["fence: takeover after a cut-off writer's fence"] = Math.round(now() - fencedAt);
    expect(outcome).toMatchObject({ taken: true, holder: "b", term: 2n });
    expect(now() - fencedAt).toBeGreaterThan(1400);
  }, 10_000);
});
