/** The figures of one measured case. */
export interface LoadFigures {
  calls: number;
  elapsedMs: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** What a load process reports for its case: the load figures and the server's CPU cost. */
export interface CaseFigures extends LoadFigures {
  /** CPU time the server spent per call while measured, in microseconds; null where unknown. */
  serverCpuUsPerCall: number | null;
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/** Throughput and latency percentiles of calls made over `elapsedMs`. */
export function summarise(latenciesMs: Float64Array, elapsedMs: number): LoadFigures {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    calls: sorted.length,
    elapsedMs,
    callsPerSecond: elapsedMs > 0 ? (sorted.length * 1000) / elapsedMs : 0,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}
