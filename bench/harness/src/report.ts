import type { BenchOptions } from "./bench-options.js";
import { summariseCases } from "./case-summary.js";
import {
  type AlternatingResult,
  judgedInflight,
  pairsForVerdict,
  targetOverheadPercent,
} from "./alternate.js";
import { computeOverheads } from "./overhead.js";
import type { CaseResult } from "./run-case.js";
import { type MedianInterval, type Spread, formatSpread } from "@virtrigaud/testbed";
import { formatTable } from "./text-table.js";

/** A figure with its sign: "+2.1", "-0.5"; percentages with one decimal, microseconds with none. */
const signed = (value: number, digits = 1) => `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;

const signedSpread = (spread: Spread, suffix = "%") => {
  const digits = suffix === "%" ? 1 : 0;
  const f = (value: number) => signed(value, digits);
  return `${f(spread.median)}${suffix} (${f(spread.min)}..${f(spread.max)})`;
};

/** "+2.1% [-1.0..+5.3] (-71.7..+44.2)": the median, its 95% interval, the range. */
const withInterval = (spread: Spread, interval: MedianInterval) =>
  `${signed(spread.median)}% [${signed(interval.low)}..${signed(interval.high)}] (${signed(spread.min)}..${signed(spread.max)})`;

/**
 * The human-readable report of one run: figures per case, each server's
 * overhead round by round, then the harness against bare connect-node in
 * alternating slices, which the verdict rests on.
 */
export function formatReport(
  options: BenchOptions,
  runs: readonly CaseResult[],
  alternating: readonly AlternatingResult[],
): string {
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
      o.serverCpuCostUs ? signedSpread(o.serverCpuCostUs, "") : "n/a",
      o.serverCpuCostPercent ? signedSpread(o.serverCpuCostPercent) : "n/a",
      o.bareOfGrpcJsPercent ? formatSpread(o.bareOfGrpcJsPercent, 0, "%") : "n/a",
    ]),
  );
  const paired = formatTable(
    [
      "protocol",
      "in-flight",
      "pairs",
      "throughput cost",
      "p50 cost",
      "server CPU cost us",
      "verdict",
    ],
    alternating.map((a) => [
      a.protocol,
      String(a.inflight),
      String(a.cost.pairs),
      withInterval(a.cost.throughputCostPercent, a.cost.throughputCostInterval),
      withInterval(a.cost.p50CostPercent, a.cost.p50CostInterval),
      a.cost.serverCpuCostUs === null ? "n/a" : signed(a.cost.serverCpuCostUs, 0),
      a.verdict,
    ]),
  );
  const judged = alternating.filter((a) => a.verdict !== "not judged");
  const verdict =
    judged.length === 0
      ? `No verdict: the target is judged at ${judgedInflight} in flight (--inflight).`
      : judged.some((a) => a.verdict === "too few pairs")
        ? `No verdict: it takes at least ${pairsForVerdict} pairs (--pairs), so that a lucky few cannot decide it.`
        : judged.every((a) => a.verdict === "within target")
          ? `Target met: the full harness costs at most ${targetOverheadPercent}% over bare connect-node at ${judgedInflight} in flight (the median over the pairs, with 95% confidence).`
          : `Target missed: the full harness should cost at most ${targetOverheadPercent}% over bare connect-node, in throughput and in p50 latency at ${judgedInflight} in flight (the median over the pairs, with 95% confidence).`;
  return [
    `ProviderService.Describe, one seeded VM, plaintext HTTP/2 on 127.0.0.1; each server and the load client in its own process.`,
    `Client: @connectrpc/connect-node, one connection. Per case: ${options.warmupMs} ms warm-up, then ${options.durationMs} ms or ${options.maxCalls} calls;`,
    `${options.rounds} interleaved round(s). Each figure: median over the rounds (lowest..highest). Server CPU: user+system time of the server process per measured call.`,
    "",
    figures,
    "",
    `Overhead vs bare connect-node, each round against the bare server of the same round (cost > 0 means slower).`,
    `harness: runProvider with every interceptor, Describe answering the bare server's message; provider-mock: the whole binary, also building the VM from its record.`,
    `Throughput cost = 1 - server/bare calls/s; p50 cost = server/bare p50 - 1.`,
    `Server CPU cost = CPU time the server adds per call: its own cost, whatever else the two cores were doing.`,
    `Bare of grpc-js = bare connect-node's calls/s as a share of grpc-js's in the same round (grpc-js speaks only gRPC).`,
    "",
    ratios,
    "",
    `The verdict: harness against bare connect-node in alternating slices of ${options.sliceMs} ms (A B, B A, ...), one load process with a connection to each,`,
    `so each pair compares the two a fraction of a second apart: the machine's drift, which moves whole cases by tens of percent, hits both alike.`,
    `Each cost: median over the pairs [its 95% confidence interval] (lowest..highest pair). Server CPU cost: over all pairs together.`,
    `Target: at most ${targetOverheadPercent}% in throughput and in p50 latency at ${judgedInflight} in flight; the verdict holds the higher end of the two intervals against it.`,
    "",
    paired,
    "",
    verdict,
  ].join("\n");
}
