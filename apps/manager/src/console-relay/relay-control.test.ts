import { expect, it } from "@jest/globals";
import { relayControlOf } from "./relay-control.js";

it("reads a resize", () => {
  expect(relayControlOf('{"resize":{"cols":120,"rows":40}}')).toEqual({
    resize: { cols: 120, rows: 40 },
  });
});

it.each([
  ["not json", "a text message must be JSON"],
  ['{"paste":"ls"}', 'the only text message is {"resize":{"cols":C,"rows":R}}'],
  [
    '{"resize":{"cols":0,"rows":40}}',
    "a resize gives cols and rows as whole numbers from 1 to 1000",
  ],
  [
    '{"resize":{"cols":80,"rows":1001}}',
    "a resize gives cols and rows as whole numbers from 1 to 1000",
  ],
  [
    '{"resize":{"cols":80.5,"rows":24}}',
    "a resize gives cols and rows as whole numbers from 1 to 1000",
  ],
  [
    '{"resize":{"cols":"80","rows":24}}',
    "a resize gives cols and rows as whole numbers from 1 to 1000",
  ],
])("refuses %s", (text, refused) => {
  expect(relayControlOf(text)).toEqual({ refused });
});
