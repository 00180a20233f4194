import type { CaseResult } from "./run-case.js";

/**
 * For each server, protocol and concurrency, the run with the median
 * throughput, in the order the cases were first run. Loopback figures on a
 * small shared machine swing by tens of percent between runs; the median of
 * interleaved rounds is what the ratios can rest on.
 */
export function pickMedianRuns(runs: CaseResult[]): CaseResult[] {
  const byCase = new Map<string, CaseResult[]>();
  for (const run of runs) {
    const key = `${run.server}/${run.protocol}/${run.inflight}`;
    byCase.set(key, [...(byCase.get(key) ?? []), run]);
  }
  return [...byCase.values()].flatMap((same) => {
    const sorted = [...same].sort((a, b) => a.callsPerSecond - b.callsPerSecond);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return median ? [median] : [];
  });
}
