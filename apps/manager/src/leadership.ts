import type { Logger } from "@virtrigaud/contracts";
import type { ControllerSet } from "./controllers/controller-set.js";
import { type PostgresLocation, clientConfig } from "./store/postgres/connection.js";
import { startLeaderLease } from "./store/postgres/leader-lease.js";
import type { Fence, ResourceStore } from "./store/store.js";

/** The lease the controllers run under. */
const leaseName = "controllers";

/** Who runs the controllers, as /readyz, metrics and vrtg show it. */
export interface LeadershipStatus {
  /** This manager's name among the replicas. */
  replica: string;
  /** Whether this manager runs the controllers now. */
  leading: boolean;
  /** "embedded" (one manager, its own store) or "lease" (replicas on PostgreSQL). */
  mode: "embedded" | "lease";
  /** The replica that holds the lease, its term and since when (ISO 8601), as last read. */
  leader?: { replica: string; term: string; since: string };
}

/** The controllers' runs, started and stopped as this manager gains and loses the lead. */
export interface Leadership {
  status(): LeadershipStatus;
  /** Stops the controllers (see `ControllerSet.stop`) and gives up the lease, for good. */
  stop(cutAfterMs?: number): Promise<void>;
}

/** Options of `startLeadership`. */
export interface LeadershipOptions {
  store: ResourceStore;
  replicaId: string;
  logger: Logger;
  /** Replicas on PostgreSQL: the controllers run while this one holds the lease. */
  postgres?: PostgresLocation;
  lease?: { ttlMs?: number; renewIntervalMs?: number; retryIntervalMs?: number };
  /** Starts one run of the controllers, its writes and provider calls fenced by `fence`. */
  run(fence?: Fence): ControllerSet;
}

/**
 * On the embedded store the controllers run from start to stop. On
 * PostgreSQL they run while this replica holds the lease, each run fenced by
 * its term: a run stops before the lease could pass to another replica,
 * and a new term starts a new run once the last one has stopped.
 */
export function startLeadership(options: LeadershipOptions): Leadership {
  const { replicaId, logger } = options;
  if (!options.postgres) {
    const run = options.run();
    return {
      status: () => ({ replica: replicaId, leading: true, mode: "embedded" }),
      stop: (cutAfterMs) => run.stop(cutAfterMs),
    };
  }
  let run: ControllerSet | undefined;
  // A new term's run starts only once the last run has stopped.
  let stopped: Promise<void> = Promise.resolve();
  let closed = false;
  const lease = startLeaderLease({
    connection: clientConfig(options.postgres),
    identity: replicaId,
    name: leaseName,
    ...options.lease,
    logger,
    onLeading: (term) => {
      const fence: Fence = {
        lease: { name: leaseName, holder: replicaId, term },
        holds: () => lease.current()?.term === term,
      };
      logger.info({ replica: replicaId, term: String(term) }, "leading: controllers start");
      const previous = stopped;
      stopped = previous.then(() => {
        if (closed || !fence.holds()) return;
        run = options.run(fence);
      });
    },
    onStopped: (reason) => {
      logger[reason === "closed" ? "info" : "warn"](
        { replica: replicaId, reason },
        "no longer leading: controllers stop",
      );
      const current = run;
      run = undefined;
      stopped = stopped.then(() => current?.stop(0));
      // The lease resigns only once the controllers stopped.
      return stopped;
    },
  });
  return {
    status: () => {
      const leader = lease.leader();
      return {
        replica: replicaId,
        leading: lease.current() !== undefined,
        mode: "lease",
        ...(leader
          ? {
              leader: {
                replica: leader.identity,
                term: String(leader.term),
                since: leader.since.toISOString(),
              },
            }
          : {}),
      };
    },
    stop: async (cutAfterMs) => {
      closed = true;
      const current = run;
      run = undefined;
      await stopped;
      await current?.stop(cutAfterMs);
      await lease.close();
    },
  };
}
