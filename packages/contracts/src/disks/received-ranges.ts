/** Ranges [start, end) of a file that were written, sorted and merged. */
export type Ranges = ReadonlyArray<readonly [start: number, end: number]>;

/** The ranges with [start, end) added: merged with those it touches or overlaps. */
export function addRange(ranges: Ranges, start: number, end: number): Ranges {
  if (end <= start) return ranges;
  const out: Array<readonly [number, number]> = [];
  let s = start;
  let e = end;
  for (const [a, b] of ranges) {
    if (b < s || a > e) out.push([a, b]);
    else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  out.push([s, e]);
  return out.sort((x, y) => x[0] - y[0]);
}

/** How many bytes from the start of the file are written without a gap. */
export function contiguousPrefix(ranges: Ranges): number {
  const first = ranges[0];
  return first && first[0] === 0 ? first[1] : 0;
}

/**
 * Whether a write should make the prefix durable now (sync the file and
 * record it): when it grew by `step` since the last record, or reached the end.
 */
export function shouldCheckpoint(
  prefix: number,
  recorded: number,
  sizeBytes: number,
  step: number,
): boolean {
  if (prefix <= recorded) return false;
  return prefix - recorded >= step || prefix === sizeBytes;
}
