import { describe, expect, it } from "@jest/globals";
import {
  type PairedCost,
  type SliceFigures,
  type SlicePair,
  judgedInflight,
  pairedCost,
  pairsForVerdict,
  sliceOrder,
  targetOverheadPercent,
  verdictOf,
} from "./alternate.js";

function slice(
  callsPerSecond: number,
  p50Ms: number,
  serverCpuMs: number | null = 100,
): SliceFigures {
  return { calls: 1000, elapsedMs: 250, callsPerSecond, p50Ms, p99Ms: p50Ms * 3, serverCpuMs };
}

/** `n` pairs where A does `throughputLoss` percent fewer calls and waits `p50Gain` percent longer. */
function pairs(n: number, throughputLoss: number, p50Gain: number): SlicePair[] {
  return Array.from({ length: n }, (_, i) => {
    // The machine drifts: both servers of a pair alike, pairs apart.
    const speed = 1 + (i % 7) / 10;
    return {
      a: slice(1000 * speed * (1 - throughputLoss / 100), (2 / speed) * (1 + p50Gain / 100), 120),
      b: slice(1000 * speed, 2 / speed, 100),
    };
  });
}

describe("sliceOrder", () => {
  it("alternates A B and B A, so that a drift favours neither", () => {
    expect([0, 1, 2, 3].map(sliceOrder)).toEqual([
      ["a", "b"],
      ["b", "a"],
      ["a", "b"],
      ["b", "a"],
    ]);
  });
});

describe("pairedCost", () => {
  it("compares each pair within itself, so the machine's drift between pairs cancels", () => {
    const cost = pairedCost(pairs(40, 10, 5));
    expect(cost.pairs).toBe(40);
    for (const spread of [cost.throughputCostPercent, cost.throughputCostInterval]) {
      for (const value of Object.values(spread)) expect(value).toBeCloseTo(10, 9);
    }
    expect(cost.p50CostPercent.median).toBeCloseTo(5, 9);
    expect(cost.p50CostInterval.high).toBeCloseTo(5, 9);
  });

  it("adds up server CPU over all pairs, per call", () => {
    // A: 120 ms per 1000 calls, B: 100 ms per 1000 calls.
    expect(pairedCost(pairs(4, 0, 0)).serverCpuCostUs).toBeCloseTo(20, 9);
  });

  it("says nothing of server CPU when any slice lacks it", () => {
    const some = pairs(4, 0, 0);
    some[2] = { a: slice(1000, 2, null), b: slice(1000, 2) };
    expect(pairedCost(some).serverCpuCostUs).toBeNull();
  });

  it("refuses no pairs", () => {
    expect(() => pairedCost([])).toThrow(RangeError);
  });
});

describe("verdictOf", () => {
  const costWith = (high: { throughput: number; p50: number }, n = 120): PairedCost => ({
    ...pairedCost(pairs(n, 0, 0)),
    throughputCostInterval: { low: 0, high: high.throughput },
    p50CostInterval: { low: 0, high: high.p50 },
  });

  it("passes when both intervals end within the target", () => {
    const cost = costWith({ throughput: targetOverheadPercent, p50: 3 });
    expect(verdictOf(cost, judgedInflight)).toBe("within target");
  });

  it("fails on the higher end of either interval, not on the medians", () => {
    const median = pairedCost(pairs(120, 2, 2));
    expect(verdictOf({ ...median, p50CostInterval: { low: 1, high: 15.1 } }, judgedInflight)).toBe(
      "OVER TARGET",
    );
    expect(verdictOf(costWith({ throughput: 20, p50: 0 }), judgedInflight)).toBe("OVER TARGET");
  });

  it("does not judge other concurrencies", () => {
    expect(verdictOf(costWith({ throughput: 90, p50: 90 }), 1)).toBe("not judged");
  });

  it("does not judge a run too short to trust", () => {
    expect(
      verdictOf(costWith({ throughput: 0, p50: 0 }, pairsForVerdict - 1), judgedInflight),
    ).toBe("too few pairs");
    expect(verdictOf(costWith({ throughput: 0, p50: 0 }, pairsForVerdict), judgedInflight)).toBe(
      "within target",
    );
  });
});
