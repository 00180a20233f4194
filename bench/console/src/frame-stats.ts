/** What the frames of a window of time looked like. */
export interface FrameStats {
  frames: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Intervals of two frames or more (over 1.5 frame times): at least one frame not drawn. */
  late: number;
  /** Frames that should have been drawn in the window but were not. */
  dropped: number;
  /** Time spent in tasks of 50 ms or more (the browser's long tasks). */
  longTaskMs: number;
}

/** The value at percentile `p` (0 to 100) of `sorted`, nearest rank; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

/**
 * Frame statistics from the times requestAnimationFrame called back, given
 * the frame time of the display (the interval an idle page gets).
 */
export function frameStats(
  times: readonly number[],
  frameMs: number,
  longTaskMs: number,
): FrameStats {
  const intervals: number[] = [];
  for (let i = 1; i < times.length; i++) intervals.push((times[i] ?? 0) - (times[i - 1] ?? 0));
  const sorted = [...intervals].sort((a, b) => a - b);
  return {
    frames: intervals.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: sorted.at(-1) ?? 0,
    late: intervals.filter((ms) => ms > 1.5 * frameMs).length,
    dropped: intervals.reduce((n, ms) => n + Math.max(0, Math.round(ms / frameMs) - 1), 0),
    longTaskMs,
  };
}
