import type { BenchOptions } from "./bench-options.js";
import { computeOverheads, targetOverheadPercent } from "./overhead.js";
import type { CaseResult } from "./run-case.js";
import { formatTable } from "./text-table.js";

const fixed = (value: number, digits: number) => value.toFixed(digits);
const signed = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(1)}%`;

/** The human-readable report of one run. */
export function formatReport(options: BenchOptions, results: CaseResult[]): string {
  const overheads = computeOverheads(results);
  const figures = formatTable(
    [
      "server",
      "protocol",
      "in-flight",
      "calls/s",
      "p50 ms",
      "p99 ms",
      "server CPU us/call",
      "calls",
    ],
    results.map((r) => [
      r.server,
      r.protocol,
      String(r.inflight),
      fixed(r.callsPerSecond, 0),
      fixed(r.p50Ms, 3),
      fixed(r.p99Ms, 3),
      r.serverCpuUsPerCall === null ? "n/a" : fixed(r.serverCpuUsPerCall, 0),
      String(r.calls),
    ]),
  );
  const ratios = formatTable(
    [
      "protocol",
      "in-flight",
      "throughput cost",
      "p50 cost",
      "verdict",
      "server CPU cost",
      "grpc-js calls/s",
      "grpc-js p50 ms",
    ],
    overheads.map((o) => [
      o.protocol,
      String(o.inflight),
      signed(o.throughputCostPercent),
      signed(o.p50CostPercent),
      o.withinTarget ? "within target" : "OVER TARGET",
      o.serverCpuCostUs === null || o.serverCpuCostPercent === null
        ? "n/a"
        : `${o.serverCpuCostUs >= 0 ? "+" : ""}${fixed(o.serverCpuCostUs, 0)} us (${signed(o.serverCpuCostPercent)})`,
      o.grpcJs ? fixed(o.grpcJs.callsPerSecond, 0) : "n/a",
      o.grpcJs ? fixed(o.grpcJs.p50Ms, 3) : "n/a",
    ]),
  );
  const verdict = overheads.every((o) => o.withinTarget)
    ? `Target met: the full harness costs at most ${targetOverheadPercent}% over bare connect-node.`
    : `Target missed: the full harness should cost at most ${targetOverheadPercent}% over bare connect-node, in throughput and in p50 latency.`;
  return [
    `ProviderService.Describe, one seeded VM, plaintext HTTP/2 on 127.0.0.1; each server and the load client in its own process.`,
    `Client: @connectrpc/connect-node, one connection. Per case: ${options.warmupMs} ms warm-up, then ${options.durationMs} ms or ${options.maxCalls} calls;`,
    `${options.rounds} interleaved round(s), each case showing its median-throughput run. Server CPU: user+system time of the server process per measured call.`,
    "",
    figures,
    "",
    `Harness overhead vs bare connect-node (target: at most ${targetOverheadPercent}%; cost > 0 means the harness is slower).`,
    `Throughput cost = 1 - harness/bare calls/s; p50 cost = harness/bare p50 - 1; the verdict takes the worse of the two.`,
    `Server CPU cost = CPU time the harness adds per call: its own cost, whatever else the two cores were doing. grpc-js speaks only gRPC.`,
    "",
    ratios,
    "",
    verdict,
  ].join("\n");
}
