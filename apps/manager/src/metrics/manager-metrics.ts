import type { DescEnum, DescMessage } from "@bufbuild/protobuf";
import type { Attributes, Meter, ObservableCounter } from "@opentelemetry/api";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { CircuitState } from "@virtrigaud/proto/manager";
import type { ProviderConnection } from "../controllers/provider-connection.js";
import type { ReconcileOutcome, WorkQueue } from "../controllers/work-queue.js";
import { manifestName } from "../manifest/enum-names.js";
import { type AnyResource, kinds } from "../manifest/kinds.js";
import type { LeadershipStatus } from "../leadership.js";
import type { ResourceStore } from "../store/resource-store.js";

/** What the manager's metrics read when they are collected. */
export interface ManagerMetricsSources {
  store: ResourceStore;
  /** The work queues, by name ("vm", "provider", ...). */
  queues: () => ReadonlyMap<string, WorkQueue>;
  /** Provider connections, by "namespace/name" of the Provider. */
  connections: ReadonlyMap<string, ProviderConnection>;
  /** Watches open on the API. */
  watches?: () => number;
  /** Who runs the controllers. */
  leadership?: () => LeadershipStatus | undefined;
}

/** The instruments the manager records into as it works. */
export interface ManagerMetrics {
  /** A reconcile of a resource of `kind` ended. */
  reconciled: (kind: string, outcome: ReconcileOutcome, seconds: number) => void;
  /** An RPC to a provider ended; `error` is undefined for success. */
  providerCall: (provider: string, method: string, error: unknown) => void;
}

/** A call's outcome as the error reason in snake case: "ok", "unavailable", "not_found". */
function callCode(error: unknown): string {
  if (error === undefined) return "ok";
  const reason = ProviderError.is(error) ? error.reason : ProviderError.from(error).reason;
  return (ErrorReason[reason] ?? "unknown").toLowerCase();
}

/** The phase enum of a kind's status, when it has one. */
function phaseEnum(schema: DescMessage): DescEnum | undefined {
  const status = schema.fields.find((f) => f.name === "status");
  const phase = status?.message?.fields.find((f) => f.name === "phase");
  return phase?.fieldKind === "enum" ? phase.enum : undefined;
}

/**
 * Creates the manager's instruments on `meter` (served on /metrics through
 * `createServerMetrics`). Labels are bounded: resource kinds, phases, result
 * names, provider names (one per Provider resource), provider methods and
 * error reasons; never a VM's name.
 *
 * - `virtrigaud_manager_queue_depth` (gauge; queue=provider|vm|snapshot|clone|image|usage):
 *   keys waiting or running.
 * - `virtrigaud_manager_reconciles` (counter; kind, result=success|error|requeue).
 * - `virtrigaud_manager_reconcile_duration` (histogram, seconds; kind).
 * - `virtrigaud_manager_provider_calls` (counter; provider, method, code).
 * - `virtrigaud_manager_provider_circuit_open` (gauge 0/1; provider): 1 while
 *   the circuit is open or half open (calls are refused).
 * - `virtrigaud_manager_resources` (gauge; kind, phase): stored resources;
 *   phase "None" for kinds without one (VMClass), "Unknown" before the first status.
 * - `virtrigaud_manager_watches` (gauge): Watch calls open on the API, each
 *   holding a subscription to the store and a bounded backlog.
 */
export function createManagerMetrics(meter: Meter, sources: ManagerMetricsSources): ManagerMetrics {
  // The counters count in memory and are read at collection: adding to an
  // OpenTelemetry counter hashes its attributes on every call, which cost
  // about 1% of the manager's CPU at 10,000 VMs.
  const reconciles = countedInMemory(
    meter.createObservableCounter("virtrigaud_manager_reconciles", {
      description: "Reconciles, by resource kind and result (success, error, requeue).",
    }),
  );
  const duration = meter.createHistogram("virtrigaud_manager_reconcile_duration", {
    description: "How long reconciles take, by resource kind.",
    unit: "s",
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
  });
  const calls = countedInMemory(
    meter.createObservableCounter("virtrigaud_manager_provider_calls", {
      description: "RPCs the manager sent to providers, by provider, method and outcome code.",
    }),
  );
  meter
    .createObservableGauge("virtrigaud_manager_queue_depth", {
      description: "Keys waiting or being reconciled, by work queue.",
    })
    .addCallback((result) => {
      for (const [name, queue] of sources.queues()) result.observe(queue.depth, { queue: name });
    });
  meter
    .createObservableGauge("virtrigaud_manager_provider_circuit_open", {
      description: "1 while the circuit to a provider is open (calls refused), else 0.",
    })
    .addCallback((result) => {
      for (const [provider, conn] of sources.connections)
        result.observe(conn.circuit === CircuitState.CLOSED ? 0 : 1, { provider });
    });
  const watches = sources.watches;
  if (watches)
    meter
      .createObservableGauge("virtrigaud_manager_watches", {
        description: "Watch calls open on the API.",
      })
      .addCallback((result) => result.observe(watches()));
  const leadership = sources.leadership;
  if (leadership) {
    meter
      .createObservableGauge("virtrigaud_manager_leader", {
        description:
          "1 while this manager runs the controllers (holds the lease, or alone on its embedded store), else 0.",
      })
      .addCallback((result) => {
        const status = leadership();
        if (status)
          result.observe(status.leading ? 1 : 0, { replica: status.replica, mode: status.mode });
      });
    meter
      .createObservableGauge("virtrigaud_manager_leader_term", {
        description: "The term of the controllers' lease as this manager last read it, by holder.",
      })
      .addCallback((result) => {
        const leader = leadership()?.leader;
        if (leader) result.observe(Number(leader.term), { leader: leader.replica });
      });
    meter
      .createObservableGauge("virtrigaud_manager_leader_since_seconds", {
        description: "When the lease's holder took it, in seconds since the epoch.",
        unit: "s",
      })
      .addCallback((result) => {
        const leader = leadership()?.leader;
        if (leader) result.observe(Date.parse(leader.since) / 1000, { leader: leader.replica });
      });
  }
  const phases = kinds.map((info) => ({ info, phases: phaseEnum(info.schema) }));
  meter
    .createObservableGauge("virtrigaud_manager_resources", {
      description: "Stored resources, by kind and phase.",
    })
    .addCallback((result) => {
      for (const { info, phases: desc } of phases) {
        const counts = new Map<string, number>();
        for (const message of sources.store.list(info.kind)) {
          const value = (message as AnyResource & { status?: { phase?: number } }).status?.phase;
          const phase = !desc ? "None" : (manifestName(desc, value ?? 0) ?? "Unknown");
          counts.set(phase, (counts.get(phase) ?? 0) + 1);
        }
        for (const [phase, n] of counts) result.observe(n, { kind: info.name, phase });
      }
    });

  // One attribute object per label set, made once: recording is on the hot path.
  const attributeSets = new Map<string, Attributes>();
  const attributes = (key: string, make: () => Attributes) => {
    let set = attributeSets.get(key);
    if (!set) attributeSets.set(key, (set = make()));
    return set;
  };
  return {
    reconciled(kind, outcome, seconds) {
      reconciles.add(`${kind} ${outcome}`, () => ({ kind, result: outcome }));
      duration.record(
        seconds,
        attributes(`d ${kind}`, () => ({ kind })),
      );
    },
    providerCall(provider, method, error) {
      const code = callCode(error);
      calls.add(`${provider} ${method} ${code}`, () => ({ provider, method, code }));
    },
  };
}

/**
 * A counter kept in memory, by label set (`key` names the set; `make` makes
 * its attributes the first time), that `counter` reports when read.
 */
function countedInMemory(counter: ObservableCounter) {
  const counts = new Map<string, { attributes: Attributes; value: number }>();
  counter.addCallback((result) => {
    for (const { attributes, value } of counts.values()) result.observe(value, attributes);
  });
  return {
    add(key: string, make: () => Attributes) {
      const count = counts.get(key);
      if (count) count.value++;
      else counts.set(key, { attributes: make(), value: 1 });
    },
  };
}
