import { type CaseSummary, summariseCases } from "./case-summary.js";
import type { BenchProtocol } from "./describe-call.js";
import type { CaseResult } from "./run-case.js";
import { type Spread, spreadOf, spreadOfKnown } from "@virtrigaud/testbed";
import type { ServerName } from "./start-servers.js";

/**
 * The servers compared with bare connect-node round by round. provider-mock
 * also holds the mock's own work of building the VM, which is not the
 * harness's. The target is judged on alternating slices (`alternate.ts`),
 * which a machine's drift disturbs far less than whole cases seconds apart.
 */
const comparedServers = ["harness", "provider-mock"] as const satisfies readonly ServerName[];

/** What a server costs over bare connect-node at one protocol and concurrency. */
export interface Overhead {
  server: (typeof comparedServers)[number];
  protocol: BenchProtocol;
  inflight: number;
  /** Rounds in which both servers ran: each gives one paired figure below. */
  rounds: number;
  /** Throughput the server loses, per round: 100 * (1 - server / bare). */
  throughputCostPercent: Spread;
  /** Median latency the server adds, per round: 100 * (server / bare - 1). */
  p50CostPercent: Spread;
  /** Server CPU time the server adds per call, per round, in microseconds; null where unknown. */
  serverCpuCostUs: Spread | null;
  /** The same, relative to bare connect-node's CPU time per call. */
  serverCpuCostPercent: Spread | null;
  /** grpc-js at the same protocol and concurrency, over all its rounds. */
  grpcJs: CaseSummary | undefined;
  /** Bare connect-node's throughput as a share of grpc-js's, per round, in percent. */
  bareOfGrpcJsPercent: Spread | undefined;
}

/** The runs of one case by round. */
function byRound(
  runs: readonly CaseResult[],
  server: ServerName,
  protocol: BenchProtocol,
  inflight: number,
): Map<number, CaseResult> {
  const found = runs.filter(
    (r) => r.server === server && r.protocol === protocol && r.inflight === inflight,
  );
  return new Map(found.map((r) => [r.round, r]));
}

/** Pairs two servers' runs of the same round: neighbours in time, so a slow spell hits both. */
function paired(
  a: Map<number, CaseResult>,
  b: Map<number, CaseResult>,
): Array<[CaseResult, CaseResult]> {
  return [...a].flatMap(([round, run]) => {
    const other = b.get(round);
    return other ? [[run, other] as [CaseResult, CaseResult]] : [];
  });
}

/**
 * The overhead of the harness, and of the whole provider-mock binary, for
 * every protocol and concurrency that has both figures. Each round compares
 * the server with the bare server of that same round.
 */
export function computeOverheads(runs: readonly CaseResult[]): Overhead[] {
  const summaries = summariseCases(runs);
  return comparedServers.flatMap((server) => overheadsOf(server, runs, summaries));
}

function overheadsOf(
  server: Overhead["server"],
  runs: readonly CaseResult[],
  summaries: readonly CaseSummary[],
): Overhead[] {
  return summaries
    .filter((s) => s.server === server)
    .flatMap(({ protocol, inflight }) => {
      const bare = byRound(runs, "bare-connect", protocol, inflight);
      const pairs = paired(byRound(runs, server, protocol, inflight), bare);
      if (pairs.length === 0) return [];
      const throughputCostPercent = spreadOf(
        pairs.map(([h, b]) => 100 * (1 - h.callsPerSecond / b.callsPerSecond)),
      );
      const p50CostPercent = spreadOf(pairs.map(([h, b]) => 100 * (h.p50Ms / b.p50Ms - 1)));
      const cpu = pairs.flatMap(([h, b]) =>
        h.serverCpuUsPerCall === null || b.serverCpuUsPerCall === null
          ? []
          : [{ server: h.serverCpuUsPerCall, bare: b.serverCpuUsPerCall }],
      );
      const grpcPairs = paired(bare, byRound(runs, "grpc-js", protocol, inflight));
      const overhead: Overhead = {
        server,
        protocol,
        inflight,
        rounds: pairs.length,
        throughputCostPercent,
        p50CostPercent,
        serverCpuCostUs: spreadOfKnown(cpu.map((c) => c.server - c.bare)),
        serverCpuCostPercent: spreadOfKnown(cpu.map((c) => 100 * (c.server / c.bare - 1))),
        grpcJs: summaries.find(
          (s) => s.server === "grpc-js" && s.protocol === protocol && s.inflight === inflight,
        ),
        bareOfGrpcJsPercent: grpcPairs.length
          ? spreadOf(grpcPairs.map(([b, g]) => (100 * b.callsPerSecond) / g.callsPerSecond))
          : undefined,
      };
      return [overhead];
    });
}
