import { describe, expect, it } from "@jest/globals";
import { formatSpread, medianInterval95, spreadOf, spreadOfKnown } from "./spread.js";

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => n - i);

describe("spreadOf", () => {
  it("takes the middle value of an odd count, whatever the order", () => {
    expect(spreadOf([9, 1, 5])).toEqual({ median: 5, min: 1, max: 9 });
  });

  it("takes the mean of the middle two of an even count", () => {
    expect(spreadOf([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 });
  });

  it("refuses no values", () => {
    expect(() => spreadOf([])).toThrow(RangeError);
  });
});

describe("medianInterval95", () => {
  // Ranks n/2 -/+ 1.96 * sqrt(n) / 2, the lower rounded down and the upper up, plus one.
  it.each([
    [120, 49, 72],
    [20, 5, 16],
    [9, 1, 9],
  ])("of %i values 1..n spans ranks %i to %i", (n, low, high) => {
    expect(medianInterval95(oneTo(n))).toEqual({ low, high });
  });

  it("is the value itself for one value", () => {
    expect(medianInterval95([7])).toEqual({ low: 7, high: 7 });
  });

  it("narrows around the median as the pairs grow", () => {
    const width = (n: number) => {
      const { low, high } = medianInterval95(oneTo(n).map((v) => v / n));
      return high - low;
    };
    expect(width(400)).toBeLessThan(width(100));
    expect(width(100)).toBeLessThan(width(20));
  });

  it("holds the median and ignores the order the values came in", () => {
    const values = [3, -8, 12, 0.5, 7, 7, -1, 22, 4, 5, 6, -3, 9, 10, 2, 1, 8, 11, 13, 14];
    const { low, high } = medianInterval95(values);
    const { median } = spreadOf(values);
    expect(low).toBeLessThanOrEqual(median);
    expect(high).toBeGreaterThanOrEqual(median);
    expect(medianInterval95([...values].reverse())).toEqual({ low, high });
  });

  it("refuses no values", () => {
    expect(() => medianInterval95([])).toThrow(RangeError);
  });
});

describe("spreadOfKnown", () => {
  it("leaves out the unknown, and is null when nothing is known", () => {
    expect(spreadOfKnown([null, 2, null, 4])).toEqual({ median: 3, min: 2, max: 4 });
    expect(spreadOfKnown([null, null])).toBeNull();
  });
});

describe("formatSpread", () => {
  it("writes the median and the range with the digits and suffix asked", () => {
    expect(formatSpread({ median: 1.234, min: -0.5, max: 9 }, 1, "%")).toBe("1.2% (-0.5%..9.0%)");
  });
});
