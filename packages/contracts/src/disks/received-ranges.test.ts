import { expect, it } from "@jest/globals";
import { addRange, contiguousPrefix, shouldCheckpoint } from "./received-ranges.js";

it("merges ranges that touch or overlap, in any order", () => {
  let r = addRange([], 20, 30);
  r = addRange(r, 0, 10);
  expect(r).toEqual([
    [0, 10],
    [20, 30],
  ]);
  expect(contiguousPrefix(r)).toBe(10);
  r = addRange(r, 10, 20);
  expect(r).toEqual([[0, 30]]);
  expect(contiguousPrefix(r)).toBe(30);
  // Writing a range again changes nothing.
  expect(addRange(r, 5, 15)).toEqual([[0, 30]]);
});

it("has no prefix until the first byte is written", () => {
  expect(contiguousPrefix(addRange([], 1, 5))).toBe(0);
  expect(contiguousPrefix([])).toBe(0);
  expect(addRange([], 3, 3)).toEqual([]);
});

it("records the prefix every step and at the end of the file", () => {
  expect(shouldCheckpoint(10, 0, 100, 64)).toBe(false);
  expect(shouldCheckpoint(64, 0, 100, 64)).toBe(true);
  expect(shouldCheckpoint(100, 64, 100, 64)).toBe(true);
  expect(shouldCheckpoint(64, 64, 100, 64)).toBe(false);
});

it("grows the prefix only when the gap before a range is filled", () => {
  let ranges = addRange([], 4, 8);
  expect(contiguousPrefix(ranges)).toBe(0);
  ranges = addRange(ranges, 12, 16);
  ranges = addRange(ranges, 0, 4);
  expect(contiguousPrefix(ranges)).toBe(8);
  ranges = addRange(ranges, 8, 12);
  expect(ranges).toEqual([[0, 16]]);
  // A range overlapping the end extends it.
  expect(addRange(ranges, 5, 20)).toEqual([[0, 20]]);
});
