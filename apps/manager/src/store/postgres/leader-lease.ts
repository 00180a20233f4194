// Leader election among managers that share one PostgreSQL database: a lease
// row with a holder, a term and an expiry on the server's clock. The leader
// renews it; a follower takes it once it expires, with the next term. The
// leader also keeps a deadline on its own monotonic clock and stops leading
// before the lease could pass to another replica, even when PostgreSQL stops
// answering: a deposed or partitioned leader never believes it still leads.
// Writes are fenced by the term in the database (fenceQuery).

import type { Logger } from "@virtrigaud/contracts";
import type pg from "pg";
import { createLeaseConnection } from "./lease-connection.js";
import {
  delayAfterFailedRenew,
  delayAfterRenew,
  type LeaseTimingOptions,
  compileLeaseTiming,
  planRenew,
  stopLeadingAt,
} from "./lease-timing.js";
import {
  acquireLeaseSql,
  fenceLeaseSql,
  leaseChannel,
  readAcquireOutcome,
  renewLeaseSql,
  resignLeaseSql,
} from "./leader-lease-sql.js";

/** Why a replica stopped leading. */
export type LeaseStopReason =
  /** A renew found the lease taken or expired on the server. */
  | "deposed"
  /** No renew succeeded in time: the replica stops before its lease could pass on. */
  | "deadline"
  /** close() was called. */
  | "closed";

/** The timers the lease schedules its work with; tests freeze them to play a killed process. */
export interface LeaseTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of `startLeaderLease`. */
export interface LeaderLeaseOptions extends LeaseTimingOptions {
  /**
   * Where PostgreSQL is. The lease opens its own single connection from it,
   * apart from the store's pool: a busy pool must not delay a renew, and the
   * lease must be able to destroy a stalled socket.
   */
  connection: pg.ClientConfig;
  /** This replica, unique among live processes (for example host, pid and a random suffix). */
  identity: string;
  /** The lease's name: one leader per name. Default: "controllers". */
  name?: string | undefined;
  /** Called when this replica starts leading, with its new term; current() holds inside it. */
  onLeading: (term: bigint) => void;
  /**
   * Called when this replica stops leading; current() is undefined from then on.
   * close() waits for a returned promise before it resigns, so that the next
   * leader starts after the controllers stopped.
   */
  onStopped: (reason: LeaseStopReason) => void | Promise<void>;
  logger?: Logger | undefined;
  /** A monotonic clock in milliseconds. Default: performance.now. */
  clock?: (() => number) | undefined;
  /** Default: the global setTimeout and clearTimeout. */
  timers?: LeaseTimers | undefined;
}

/** The term this replica leads with, to check before each fenced action. */
export interface LeaseTerm {
  name: string;
  identity: string;
  term: bigint;
}

/** Who leads, as this replica last read it. */
export interface LeaderInfo {
  identity: string;
  term: bigint;
  /** When that leader's term began, on the server's clock. */
  since: Date;
}

/** A running lease; see `startLeaderLease`. */
export interface LeaderLease {
  /** This replica's term while its local deadline holds, else undefined. Cheap: call it before each action. */
  current(): LeaseTerm | undefined;
  /** Who leads, as last read (this replica while it leads); undefined when nobody does or nothing was read yet. */
  leader(): LeaderInfo | undefined;
  /** Stops leading (onStopped first), resigns so a follower takes over at once, and closes the connection. */
  close(): Promise<void>;
}

/** What the fence checks: the lease, its holder and the term the writer leads with. */
export interface LeaseFence {
  name: string;
  holder: string;
  term: bigint;
}

interface Leadership {
  term: bigint;
  since: Date;
  /** When this replica stops leading unless a renew succeeds first (monotonic). */
  stopAt: number;
}

/**
 * Starts taking part in the election for `options.name`: the replica tries to
 * take the lease at once and every retry interval (at once when a leader
 * resigns), and renews it while it leads. After it stops leading for any
 * reason but close(), it is a follower again and may lead later with a new term.
 *
 * @throws ProviderError INVALID_SPEC for timing options that do not fit (see compileLeaseTiming)
 */
export function startLeaderLease(options: LeaderLeaseOptions): LeaderLease {
  const timing = compileLeaseTiming(options);
  const name = options.name ?? "controllers";
  const { identity, logger } = options;
  const clock = options.clock ?? (() => performance.now());
  const timers: LeaseTimers = options.timers ?? {
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const log = logger?.child({ lease: name, identity });

  let leading: Leadership | undefined;
  let lastRead: LeaderInfo | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  /** The last term this replica took: close() resigns it, a no-op when it is over. */
  let heldTerm: bigint | undefined;
  let running: Promise<void> | undefined;
  let wakeRequested = false;
  let stepTimer: unknown;
  let stopTimer: unknown;

  const connection = createLeaseConnection({
    config: options.connection,
    channel: leaseChannel,
    statementTimeoutMs: timing.queryTimeoutMs,
    onNotification: (payload) => {
      if (payload === name && !leading) wake();
    },
  });

  function schedule(delayMs: number) {
    timers.clearTimeout(stepTimer);
    stepTimer = timers.setTimeout(() => {
      running ??= step().finally(() => (running = undefined));
    }, delayMs);
  }

  function wake() {
    if (closed) return;
    if (running) wakeRequested = true;
    else schedule(0);
  }

  async function step() {
    let nextDelay = timing.retryIntervalMs;
    try {
      nextDelay = leading ? await renew(leading) : await acquire();
    } catch (error) {
      log?.error({ err: error }, "leader lease step failed");
    }
    if (closed) return;
    if (wakeRequested && !leading) nextDelay = 0;
    wakeRequested = false;
    schedule(nextDelay);
  }

  async function acquire(): Promise<number> {
    const sentAt = clock();
    let outcome;
    try {
      const result = await connection.query(
        acquireLeaseSql,
        [name, identity, timing.ttlMs],
        timing.queryTimeoutMs,
      );
      outcome = readAcquireOutcome(result.rows);
    } catch (error) {
      log?.debug({ err: errorText(error) }, "could not try the leader lease");
      return timing.retryIntervalMs;
    }
    lastRead =
      outcome?.live === true
        ? { identity: outcome.holder, term: outcome.term, since: outcome.acquiredAt }
        : undefined;
    if (!outcome?.taken) return timing.retryIntervalMs;
    heldTerm = outcome.term;
    // Taken by an attempt that ended after close() began: resigned, never announced.
    if (closed) return timing.retryIntervalMs;
    const stopAt = stopLeadingAt(sentAt, timing);
    // Taken too late to lead safely; a later attempt takes it again, with a new term.
    if (clock() >= stopAt) return 0;
    const leadership = { term: outcome.term, since: outcome.acquiredAt, stopAt };
    leading = leadership;
    armStop(leadership);
    log?.info({ term: String(outcome.term) }, "leading");
    void callSafely("onLeading", () => options.onLeading(outcome.term));
    return delayAfterRenew(clock(), sentAt, timing);
  }

  async function renew(leadership: Leadership): Promise<number> {
    const sentAt = clock();
    const plan = planRenew(sentAt, leadership.stopAt, timing);
    if (plan.kind === "stop") {
      void stopLeading("deadline");
      return timing.retryIntervalMs;
    }
    let renewed: boolean;
    try {
      const result = await connection.query(
        renewLeaseSql,
        [name, identity, leadership.term.toString(), timing.ttlMs],
        plan.timeoutMs,
      );
      renewed = result.rowCount === 1;
    } catch (error) {
      if (leading !== leadership) return timing.retryIntervalMs;
      log?.warn({ err: errorText(error), term: String(leadership.term) }, "renew failed");
      return delayAfterFailedRenew(clock(), leadership.stopAt, timing);
    }
    // The stop timer fired while the renew was out: that leadership is over.
    if (leading !== leadership) return timing.retryIntervalMs;
    if (!renewed) {
      void stopLeading("deposed");
      return timing.retryIntervalMs;
    }
    // An answer after the deadline does not undo it: leadership is one interval.
    if (clock() >= leadership.stopAt) {
      void stopLeading("deadline");
      return timing.retryIntervalMs;
    }
    leadership.stopAt = stopLeadingAt(sentAt, timing);
    armStop(leadership);
    return delayAfterRenew(clock(), sentAt, timing);
  }

  function armStop(leadership: Leadership) {
    timers.clearTimeout(stopTimer);
    stopTimer = timers.setTimeout(
      () => {
        if (leading !== leadership) return;
        // A timer may fire a little early by this clock; wait out the rest.
        if (clock() < leadership.stopAt) armStop(leadership);
        else void stopLeading("deadline");
      },
      Math.max(0, leadership.stopAt - clock()),
    );
  }

  function stopLeading(reason: LeaseStopReason): Promise<void> {
    const leadership = leading;
    if (!leadership) return Promise.resolve();
    leading = undefined;
    lastRead = undefined;
    timers.clearTimeout(stopTimer);
    log?.[reason === "closed" ? "info" : "warn"](
      { reason, term: String(leadership.term) },
      "stopped leading",
    );
    return callSafely("onStopped", () => options.onStopped(reason));
  }

  function callSafely(callback: string, call: () => unknown): Promise<void> {
    try {
      return Promise.resolve(call()).then(
        () => undefined,
        (error: unknown) => log?.error({ err: error }, `${callback} failed`),
      );
    } catch (error) {
      log?.error({ err: error }, `${callback} failed`);
      return Promise.resolve();
    }
  }

  async function shutDown() {
    closed = true;
    timers.clearTimeout(stepTimer);
    await stopLeading("closed");
    // An answer still out is ignored now that the replica does not lead.
    await running;
    const term = heldTerm;
    if (term !== undefined) {
      try {
        await connection.query(
          resignLeaseSql,
          [name, identity, term.toString()],
          timing.queryTimeoutMs,
        );
        log?.info({ term: String(term) }, "resigned");
      } catch (error) {
        // The lease then passes on when it expires.
        log?.warn({ err: errorText(error), term: String(term) }, "could not resign");
      }
    }
    await connection.close(timing.retryIntervalMs);
  }

  schedule(0);

  return {
    current() {
      if (!leading || clock() >= leading.stopAt) return undefined;
      return { name, identity, term: leading.term };
    },
    leader() {
      if (!leading) return lastRead;
      if (clock() >= leading.stopAt) return undefined;
      return { identity, term: leading.term, since: leading.since };
    },
    close() {
      return (closing ??= shutDown());
    },
  };
}

/**
 * Checks, inside the caller's transaction, that `fence.holder` still holds
 * the lease with `fence.term` and that it has not expired; the row is then
 * locked FOR SHARE, so no replica can take the lease over until the
 * transaction ends. A write made after a true answer in the same transaction
 * therefore commits before any later term begins. Run it first in the
 * transaction, and roll back when it answers false.
 *
 * @throws the driver's error when the statement fails
 */
export async function fenceQuery(client: pg.ClientBase, fence: LeaseFence): Promise<boolean> {
  const result = await client.query(fenceLeaseSql, [
    fence.name,
    fence.holder,
    fence.term.toString(),
  ]);
  return result.rowCount === 1;
}

/** The message only: driver errors can carry connection details. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
