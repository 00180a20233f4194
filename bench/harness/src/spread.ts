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
