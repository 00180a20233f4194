import { expect, it } from "@jest/globals";
import { dataExtentsOf, holdsData } from "./data-extents.js";

it("keeps the data ranges of qemu-img map, merged where they touch", () => {
  const map = JSON.stringify([
    { start: 0, length: 4096, depth: 0, present: true, zero: false, data: true, offset: 0 },
    { start: 4096, length: 4096, depth: 0, present: true, zero: false, data: true, offset: 4096 },
    { start: 8192, length: 1 << 20, depth: 0, present: true, zero: true, data: false },
    { start: 8192 + (1 << 20), length: 512, depth: 0, present: true, zero: false, data: true },
  ]);
  expect(dataExtentsOf(map)).toEqual([
    [0, 8192],
    [8192 + (1 << 20), 8192 + (1 << 20) + 512],
  ]);
});

it("tells a range that meets data from one that lies in a hole", () => {
  const extents = [
    [0, 100],
    [1000, 1100],
    [5000, 6000],
  ] as const;
  expect(holdsData(extents, 0, 10)).toBe(true);
  expect(holdsData(extents, 100, 1000)).toBe(false);
  expect(holdsData(extents, 999, 1000)).toBe(false);
  expect(holdsData(extents, 999, 1001)).toBe(true);
  expect(holdsData(extents, 1100, 5000)).toBe(false);
  expect(holdsData(extents, 5999, 7000)).toBe(true);
  expect(holdsData(extents, 6000, 9000)).toBe(false);
  expect(holdsData([], 0, 10)).toBe(false);
});
