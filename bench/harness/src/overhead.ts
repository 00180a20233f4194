import type { BenchProtocol } from "./describe-call.js";
import type { CaseResult } from "./run-case.js";

/** The most the full harness may cost over bare connect-node, in percent. */
export const targetOverheadPercent = 15;

/** What the harness costs over bare connect-node at one protocol and concurrency. */
export interface Overhead {
  protocol: BenchProtocol;
  inflight: number;
  /** Throughput lost to the harness: 100 * (1 - harness / bare). */
  throughputCostPercent: number;
  /** Median latency added by the harness: 100 * (harness / bare - 1). */
  p50CostPercent: number;
  /** Server CPU time the harness adds per call, in microseconds; null where unknown. */
  serverCpuCostUs: number | null;
  /** The same, relative to bare connect-node's CPU time per call. */
  serverCpuCostPercent: number | null;
  withinTarget: boolean;
  grpcJs: CaseResult | undefined;
}

/** The harness's overhead for every protocol and concurrency that has both figures. */
export function computeOverheads(results: CaseResult[]): Overhead[] {
  const find = (server: string, protocol: BenchProtocol, inflight: number) =>
    results.find((r) => r.server === server && r.protocol === protocol && r.inflight === inflight);
  const overheads: Overhead[] = [];
  for (const harness of results.filter((r) => r.server === "harness")) {
    const bare = find("bare-connect", harness.protocol, harness.inflight);
    if (!bare) continue;
    const throughputCostPercent = 100 * (1 - harness.callsPerSecond / bare.callsPerSecond);
    const p50CostPercent = 100 * (harness.p50Ms / bare.p50Ms - 1);
    const cpu =
      harness.serverCpuUsPerCall === null || bare.serverCpuUsPerCall === null
        ? null
        : { harness: harness.serverCpuUsPerCall, bare: bare.serverCpuUsPerCall };
    overheads.push({
      protocol: harness.protocol,
      inflight: harness.inflight,
      throughputCostPercent,
      p50CostPercent,
      serverCpuCostUs: cpu && cpu.harness - cpu.bare,
      serverCpuCostPercent: cpu && 100 * (cpu.harness / cpu.bare - 1),
      withinTarget: Math.max(throughputCostPercent, p50CostPercent) <= targetOverheadPercent,
      grpcJs: find("grpc-js", harness.protocol, harness.inflight),
    });
  }
  return overheads;
}
