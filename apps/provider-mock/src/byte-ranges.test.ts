import { describe, expect, it } from "@jest/globals";
import { addRange, prefixEnd } from "./byte-ranges.js";

describe("addRange and prefixEnd", () => {
  it("grows the prefix only when the gap before a range is filled", () => {
    let ranges = addRange([], 4, 8);
    expect(prefixEnd(ranges)).toBe(0);
    ranges = addRange(ranges, 12, 16);
    expect(ranges).toEqual([
      [4, 8],
      [12, 16],
    ]);
    ranges = addRange(ranges, 0, 4);
    expect(prefixEnd(ranges)).toBe(8);
    ranges = addRange(ranges, 8, 12);
    expect(ranges).toEqual([[0, 16]]);
    expect(prefixEnd(ranges)).toBe(16);
  });

  it("keeps the same ranges for a range written again or overlapping", () => {
    const ranges = addRange(addRange([], 0, 10), 2, 6);
    expect(ranges).toEqual([[0, 10]]);
    expect(addRange(ranges, 5, 14)).toEqual([[0, 14]]);
  });

  it("ignores an empty range", () => {
    expect(addRange([[0, 4]], 6, 6)).toEqual([[0, 4]]);
  });
});
