/** Ranges [start, end) of a file that hold data; the rest are holes, read as zeros. */
export type Extents = ReadonlyArray<readonly [start: number, end: number]>;

/**
 * The ranges with data, from `qemu-img map --output=json -f raw` of a file
 * (which finds holes with SEEK_DATA/SEEK_HOLE), merged where they touch.
 */
export function dataExtentsOf(mapJson: string): Extents {
  const entries = JSON.parse(mapJson) as Array<{ start: number; length: number; data: boolean }>;
  const out: Array<[number, number]> = [];
  for (const e of entries) {
    if (!e.data || e.length <= 0) continue;
    const last = out.at(-1);
    if (last && last[1] === e.start) last[1] = e.start + e.length;
    else out.push([e.start, e.start + e.length]);
  }
  return out;
}

/** Whether [start, end) meets any extent: if not, it reads as zeros without being read. */
export function holdsData(extents: Extents, start: number, end: number): boolean {
  // The first extent ending after `start`, by binary search.
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((extents[mid]?.[1] ?? 0) <= start) lo = mid + 1;
    else hi = mid;
  }
  const next = extents[lo];
  return next !== undefined && next[0] < end;
}
