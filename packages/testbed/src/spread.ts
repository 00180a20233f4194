/** The median of a figure over the rounds of a run, and the lowest and highest it reached. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/**
 * The spread of `values` (one per round); the median of an even count is
 * the mean of the middle two.
 *
 * @throws RangeError when `values` is empty.
 */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("no values to take the spread of");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = Number.isInteger(middle)
    ? ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
    : (sorted[Math.floor(middle)] ?? 0);
  return { median, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 };
}

/** A range the true median lies in with 95% confidence. */
export interface MedianInterval {
  low: number;
  high: number;
}

/**
 * The distribution-free 95% confidence interval of the median of `values`:
 * the order statistics n/2 -/+ 1.96 * sqrt(n)/2 ranks from the middle (the
 * normal approximation of the binomial), so it assumes nothing about how the
 * values spread, only that they are independent draws.
 *
 * @throws RangeError when `values` is empty.
 */
export function medianInterval95(values: readonly number[]): MedianInterval {
  if (values.length === 0) throw new RangeError("no values to take the median of");
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const half = (1.96 * Math.sqrt(n)) / 2;
  const lowRank = Math.max(1, Math.floor(n / 2 - half));
  const highRank = Math.min(n, Math.ceil(n / 2 + half) + 1);
  return { low: sorted[lowRank - 1] ?? 0, high: sorted[highRank - 1] ?? 0 };
}

/** The spread of the values that are known, or null when none is. */
export function spreadOfKnown(values: readonly (number | null)[]): Spread | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? spreadOf(known) : null;
}

/** A spread as text: "median (min..max)", each with `digits` decimals and an optional suffix. */
export function formatSpread(spread: Spread, digits: number, suffix = ""): string {
  const f = (value: number) => `${value.toFixed(digits)}${suffix}`;
  return `${f(spread.median)} (${f(spread.min)}..${f(spread.max)})`;
}
