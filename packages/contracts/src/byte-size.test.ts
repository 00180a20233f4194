import { expect, it } from "@jest/globals";
import { parseByteSize } from "./byte-size.js";

it.each([
  ["1024", 1024],
  ["512Ki", 524_288],
  ["4Mi", 4_194_304],
  ["1Gi", 1_073_741_824],
  [" 8Mi ", 8_388_608],
])("parses %s", (text, bytes) => {
  expect(parseByteSize(text)).toBe(bytes);
});

it.each(["", "4M", "4 Mi", "1.5Mi", "-1", "lots", "99999999999999999999"])("refuses %j", (text) => {
  expect(() => parseByteSize(text)).toThrow(RangeError);
});
