import { expect, it } from "@jest/globals";
import { endOfConsole, splitAtEscape } from "./console-session.js";

it.each([
  ["ls\r", "ls\r", false],
  ["ls\x1d rest", "ls", true],
  ["\x1d", "", true],
])("sends %j as %j (escaped: %s)", (typed, sent, escaped) => {
  const split = splitAtEscape(Buffer.from(typed));
  expect(Buffer.from(split.send).toString()).toBe(sent);
  expect(split.escaped).toBe(escaped);
});

it.each([
  [1000, "the console closed", 0, undefined],
  [4408, "idle for 2 s", 6, "console closed: idle for 2 s"],
  [4409, "vm web-1 is not running", 5, "console closed: vm web-1 is not running"],
  [4404, "gone", 3, "console closed: gone"],
  [4503, "", 7, "console closed: code 4503"],
  [4501, "no console", 1, "console closed: no console"],
])("a close with %d (%j) exits %d", (code, reason, exitCode, message) => {
  expect(endOfConsole(code, reason)).toEqual({ exitCode, ...(message ? { message } : {}) });
});
