/**
 * The ranges of a file written so far, as sorted, disjoint, non-adjacent
 * [start, end) pairs. Writes arrive in any order (a copier keeps several in
 * flight), and the durable prefix is what the first range covers from 0.
 */
export type ByteRanges = readonly (readonly [number, number])[];

/** `ranges` with [start, end) added, merged with what it touches. */
export function addRange(ranges: ByteRanges, start: number, end: number): ByteRanges {
  if (end <= start) return ranges;
  const before = ranges.filter(([, e]) => e < start);
  const after = ranges.filter(([s]) => s > end);
  const touching = ranges.filter(([s, e]) => e >= start && s <= end);
  const merged: [number, number] = [
    Math.min(start, ...touching.map(([s]) => s)),
    Math.max(end, ...touching.map(([, e]) => e)),
  ];
  return [...before, merged, ...after];
}

/** How many bytes from offset 0 are written without a gap. */
export function prefixEnd(ranges: ByteRanges): number {
  const first = ranges[0];
  return first && first[0] === 0 ? first[1] : 0;
}
