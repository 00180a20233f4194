import type { BenchOptions } from "./bench-options.js";
import { summariseCases } from "./case-summary.js";
import { computeOverheads, roundsForVerdict, targetOverheadPercent } from "./overhead.js";
import type { CaseResult } from "./run-case.js";
import { formatSpread } from "./spread.js";
import { formatTable } from "./text-table.js";

const signedSpread = (spread: { median: number; min: number; max: number }, suffix = "%") => {
  const f = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(suffix === "%" ? 1 : 0)}`;
  return `${f(spread.median)}${suffix} (${f(spread.min)}..${f(spread.max)})`;
};

/** The human-readable report of one run: figures per case, then the harness's overhead. */
export function formatReport(options: BenchOptions, runs: readonly CaseResult[]): string {
  const cases = summariseCases(runs);
  const overheads = computeOverheads(runs);
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
    cases.map((c) => [
      c.server,
      c.protocol,
      String(c.inflight),
      formatSpread(c.callsPerSecond, 0),
      formatSpread(c.p50Ms, 2),
      formatSpread(c.p99Ms, 1),
      c.serverCpuUsPerCall === null ? "n/a" : formatSpread(c.serverCpuUsPerCall, 0),
      String(c.calls),
    ]),
  );
  const ratios = formatTable(
    [
      "server",
      "protocol",
      "in-flight",
      "throughput cost",
      "p50 cost",
      "verdict",
      "server CPU cost us",
      "server CPU cost",
      "bare of grpc-js calls/s",
    ],
    overheads.map((o) => [
      o.server,
      o.protocol,
      String(o.inflight),
      signedSpread(o.throughputCostPercent),
      signedSpread(o.p50CostPercent),
      o.verdict,
      o.serverCpuCostUs ? signedSpread(o.serverCpuCostUs, "") : "n/a",
      o.serverCpuCostPercent ? signedSpread(o.serverCpuCostPercent) : "n/a",
      o.bareOfGrpcJsPercent ? formatSpread(o.bareOfGrpcJsPercent, 0, "%") : "n/a",
    ]),
  );
  const judged = overheads.filter((o) => o.verdict !== "not judged");
  const verdict =
    judged.length === 0 || judged.some((o) => o.verdict === "too few rounds")
      ? `No verdict: it takes at least ${roundsForVerdict} rounds (--rounds), so that one lucky round cannot decide it.`
      : judged.every((o) => o.verdict === "within target")
        ? `Target met: the full harness costs at most ${targetOverheadPercent}% over bare connect-node (median of ${options.rounds} rounds).`
        : `Target missed: the full harness should cost at most ${targetOverheadPercent}% over bare connect-node, in throughput and in p50 latency (median of ${options.rounds} rounds).`;
  return [
    `ProviderService.Describe, one seeded VM, plaintext HTTP/2 on 127.0.0.1; each server and the load client in its own process.`,
    `Client: @connectrpc/connect-node, one connection. Per case: ${options.warmupMs} ms warm-up, then ${options.durationMs} ms or ${options.maxCalls} calls;`,
    `${options.rounds} interleaved round(s). Each figure: median over the rounds (lowest..highest). Server CPU: user+system time of the server process per measured call.`,
    "",
    figures,
    "",
    `Overhead vs bare connect-node (target for the harness: at most ${targetOverheadPercent}%; cost > 0 means slower), each round against the bare server of the same round.`,
    `harness: runProvider with every interceptor, Describe answering the bare server's message; provider-mock: the whole binary, also building the VM from its record (not judged).`,
    `Throughput cost = 1 - server/bare calls/s; p50 cost = server/bare p50 - 1; the verdict takes the worse of the two medians.`,
    `Server CPU cost = CPU time the server adds per call: its own cost, whatever else the two cores were doing.`,
    `Bare of grpc-js = bare connect-node's calls/s as a share of grpc-js's in the same round (grpc-js speaks only gRPC).`,
    "",
    ratios,
    "",
    verdict,
  ].join("\n");
}
