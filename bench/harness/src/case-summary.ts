import type { BenchProtocol } from "./describe-call.js";
import type { CaseResult } from "./run-case.js";
import { type Spread, spreadOf, spreadOfKnown } from "@virtrigaud/testbed";
import type { ServerName } from "./start-servers.js";

/** One server, protocol and concurrency over all rounds: each figure's median and range. */
export interface CaseSummary {
  server: ServerName;
  protocol: BenchProtocol;
  inflight: number;
  rounds: number;
  callsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  /** Null where the server's CPU time is unknown (no /proc). */
  serverCpuUsPerCall: Spread | null;
  /** Calls measured in the median round, the smaller half rounded down. */
  calls: number;
}

/** The runs of one case, by "server/protocol/inflight", in the order cases were first run. */
function groupByCase(runs: readonly CaseResult[]): Map<string, CaseResult[]> {
  const byCase = new Map<string, CaseResult[]>();
  for (const run of runs) {
    const key = `${run.server}/${run.protocol}/${run.inflight}`;
    byCase.set(key, [...(byCase.get(key) ?? []), run]);
  }
  return byCase;
}

/**
 * Every case's figures over its rounds. Loopback figures on a small shared
 * machine swing by tens of percent between runs of the very same server; the
 * median of interleaved rounds is what a comparison can rest on, and the
 * range says how far to trust it.
 */
export function summariseCases(runs: readonly CaseResult[]): CaseSummary[] {
  return [...groupByCase(runs).values()].flatMap((same) => {
    const first = same[0];
    if (!first) return [];
    const calls = same.map((r) => r.calls).sort((a, b) => a - b);
    return [
      {
        server: first.server,
        protocol: first.protocol,
        inflight: first.inflight,
        rounds: same.length,
        callsPerSecond: spreadOf(same.map((r) => r.callsPerSecond)),
        p50Ms: spreadOf(same.map((r) => r.p50Ms)),
        p99Ms: spreadOf(same.map((r) => r.p99Ms)),
        serverCpuUsPerCall: spreadOfKnown(same.map((r) => r.serverCpuUsPerCall)),
        calls: calls[Math.floor((calls.length - 1) / 2)] ?? 0,
      },
    ];
  });
}
