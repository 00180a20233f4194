import { expect, it } from "@jest/globals";
import { parseDuration } from "./duration.js";

it.each([
  ["250", 250],
  ["500ms", 500],
  ["30s", 30_000],
  ["1.5s", 1500],
  ["2m", 120_000],
  ["1h30m", 5_400_000],
])("parses %s", (text, ms) => {
  expect(parseDuration(text)).toBe(ms);
});

it.each(["", "soon", "10 s", "5d", "-1s", "1s garbage"])("refuses %j", (text) => {
  expect(() => parseDuration(text)).toThrow(RangeError);
});
