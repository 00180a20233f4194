import { expect, it } from "@jest/globals";
import { vncAddressOf } from "./vnc-display.js";

it.each([
  ["127.0.0.1:0\n", { address: "127.0.0.1", port: 5900 }],
  [":3", { address: "127.0.0.1", port: 5903 }],
  ["0.0.0.0:1", { address: "127.0.0.1", port: 5901 }],
  ["[::1]:2", { address: "::1", port: 5902 }],
  ["10.0.0.5:12", { address: "10.0.0.5", port: 5912 }],
  ["", undefined],
  ["error: no graphics", undefined],
])("reads %j as %j", (display, expected) => {
  expect(vncAddressOf(display)).toEqual(expected);
});
