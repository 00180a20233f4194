import { describe, expect, it } from "@jest/globals";
import { parseXml } from "./parse.js";
import { escapeXml } from "./escape.js";

describe("escapeXml", () => {
  it("escapes markup and quotes, and parses back to the same text", () => {
    const hostile = `<a href="x">&amp; 'b' ]]> \r\n\t 😀</a>`;
    const escaped = escapeXml(hostile);
    expect(escaped).not.toMatch(/[<>"']/);
    expect(parseXml(`<v>${escaped}</v>`)["v"]).toEqual([hostile]);
  });

  it("refuses characters XML 1.0 cannot carry", () => {
    for (const bad of ["\u0000", "\u0007", "\u001b", "\ud800", "\uffff"]) {
      expect(() => escapeXml(`a${bad}b`)).toThrow(RangeError);
    }
  });

  it("decodes character references as the text they stand for, once", () => {
    expect(parseXml("<v>&#34;q&#34; &amp;#34; &#x41;</v>")["v"]).toEqual(['"q" &#34; A']);
  });

  it("refuses a document with a DOCTYPE", () => {
    expect(() => parseXml('<!DOCTYPE v [<!ENTITY e "x">]><v>&e;</v>')).toThrow(/DOCTYPE/);
  });
});
