import { expect, it } from "@jest/globals";
import { keysyms, pasteKeys, pasteLimit } from "./paste-keys";

it("types letters, digits and unshifted symbols as their keysyms without Shift", () => {
  expect(pasteKeys("a1 -/")).toEqual({
    keys: [
      { keysym: 0x61, shift: false },
      { keysym: 0x31, shift: false },
      { keysym: 0x20, shift: false },
      { keysym: 0x2d, shift: false },
      { keysym: 0x2f, shift: false },
    ],
  });
});

it.each(['"', ">", "A", "Z", "_", "|", "~", ":", "?"])("holds Shift for %s", (character) => {
  expect(pasteKeys(character)).toEqual({
    keys: [{ keysym: character.charCodeAt(0), shift: true }],
  });
});

it("types newlines (LF, CRLF or CR) as one Return each, and tabs as Tab", () => {
  expect(pasteKeys("a\r\nb\nc\rd\t")).toEqual({
    keys: [
      { keysym: 0x61, shift: false },
      { keysym: keysyms.return, shift: false },
      { keysym: 0x62, shift: false },
      { keysym: keysyms.return, shift: false },
      { keysym: 0x63, shift: false },
      { keysym: keysyms.return, shift: false },
      { keysym: 0x64, shift: false },
      { keysym: keysyms.tab, shift: false },
    ],
  });
});

it.each([
  ["echo é", 'Character 6 ("é", U+00E9)'],
  ["ok 🙂", 'Character 4 ("🙂", U+1F642)'],
  ["bell\u0007", "Character 5 (U+0007)"],
])("refuses all of %j for a character without a key", (text, named) => {
  const answer = pasteKeys(text);
  expect(answer).not.toHaveProperty("keys");
  expect(answer).toEqual({ refused: expect.stringContaining(named) });
});

it("refuses a text longer than the limit, and takes one at it", () => {
  expect(pasteKeys("x".repeat(pasteLimit + 1))).toEqual({
    refused: `The text has ${pasteLimit + 1} characters; at most ${pasteLimit} are typed at once.`,
  });
  expect(pasteKeys("x".repeat(pasteLimit))).toHaveProperty("keys");
});
