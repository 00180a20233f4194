import type { BenchProtocol } from "./describe-call.js";
import type { LoadFigures } from "./latency-stats.js";
import { type MedianInterval, type Spread, medianInterval95, spreadOf } from "@virtrigaud/testbed";

/** The most the full harness may cost over bare connect-node, in percent. */
export const targetOverheadPercent = 15;

/** The concurrency the target is set at (issue 19); other levels are measured and shown, not judged. */
export const judgedInflight = 64;

/** Pairs a verdict needs: with fewer, a lucky few could decide it. */
export const pairsForVerdict = 20;

/** One slice of load against one server: its figures and the CPU time the server spent. */
export interface SliceFigures extends LoadFigures {
  /** Null where the server's CPU time is unknown (no /proc). */
  serverCpuMs: number | null;
}

/** Two slices a moment apart: `a` is the server judged, `b` its baseline. */
export interface SlicePair {
  a: SliceFigures;
  b: SliceFigures;
}

/**
 * Which server goes first in pair `i`: A B, then B A, and so on, so that a
 * machine speeding up or slowing down across a pair favours neither.
 */
export function sliceOrder(i: number): ["a", "b"] | ["b", "a"] {
  return i % 2 === 0 ? ["a", "b"] : ["b", "a"];
}

/** What A costs over B, pair by pair: the median and range of the per-pair figures. */
export interface PairedCost {
  pairs: number;
  /** 100 * (1 - A calls/s / B calls/s), per pair. */
  throughputCostPercent: Spread;
  /** 100 * (A p50 / B p50 - 1), per pair. */
  p50CostPercent: Spread;
  /** Where the true median throughput cost lies, with 95% confidence. */
  throughputCostInterval: MedianInterval;
  /** Where the true median p50 cost lies, with 95% confidence. */
  p50CostInterval: MedianInterval;
  /**
   * Server CPU time A adds per call, over all pairs together (CPU time is
   * read in 10 ms ticks, too coarse for one slice); null where unknown.
   */
  serverCpuCostUs: number | null;
}

/**
 * The cost of A over B from alternating slices.
 *
 * @throws RangeError when there are no pairs.
 */
export function pairedCost(pairs: readonly SlicePair[]): PairedCost {
  const cpu = (s: "a" | "b") => {
    let ms = 0;
    let calls = 0;
    for (const pair of pairs) {
      const slice = pair[s];
      if (slice.serverCpuMs === null) return null;
      ms += slice.serverCpuMs;
      calls += slice.calls;
    }
    return calls > 0 ? (ms * 1000) / calls : null;
  };
  const cpuA = cpu("a");
  const cpuB = cpu("b");
  const throughput = pairs.map(({ a, b }) => 100 * (1 - a.callsPerSecond / b.callsPerSecond));
  const p50 = pairs.map(({ a, b }) => 100 * (a.p50Ms / b.p50Ms - 1));
  return {
    pairs: pairs.length,
    throughputCostPercent: spreadOf(throughput),
    p50CostPercent: spreadOf(p50),
    throughputCostInterval: medianInterval95(throughput),
    p50CostInterval: medianInterval95(p50),
    serverCpuCostUs: cpuA === null || cpuB === null ? null : cpuA - cpuB,
  };
}

/** How the harness's cost compares with the target. */
export type Verdict = "within target" | "OVER TARGET" | "too few pairs" | "not judged";

/** The harness against bare connect-node at one protocol and concurrency, from alternating slices. */
export interface AlternatingResult {
  protocol: BenchProtocol;
  inflight: number;
  sliceMs: number;
  cost: PairedCost;
  /**
   * The target against the higher end of the 95% intervals of the median
   * throughput and p50 costs: a run whose medians pass by luck does not.
   */
  verdict: Verdict;
  pairs: SlicePair[];
}

/**
 * The verdict on a paired cost at `inflight` calls in flight: the higher end
 * of its two medians' 95% intervals against the target.
 */
export function verdictOf(cost: PairedCost, inflight: number): Verdict {
  if (inflight !== judgedInflight) return "not judged";
  if (cost.pairs < pairsForVerdict) return "too few pairs";
  const worse = Math.max(cost.throughputCostInterval.high, cost.p50CostInterval.high);
  return worse <= targetOverheadPercent ? "within target" : "OVER TARGET";
}
