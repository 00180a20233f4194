import { describe, expect, it } from "@jest/globals";
import { readResponse } from "../soap/envelope.js";
import { escapeXml } from "./escape.js";

/** The text a server's CurrentTime answer carrying `xml` decodes to. */
function readText(xml: string): unknown {
  return readResponse(
    "CurrentTime",
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
      `<CurrentTimeResponse xmlns="urn:vim25"><returnval>${xml}</returnval></CurrentTimeResponse>` +
      "</soapenv:Body></soapenv:Envelope>",
    200,
  );
}

describe("escapeXml", () => {
  it("escapes markup and quotes, and parses back to the same text", () => {
    const hostile = `<a href="x">&amp; 'b' ]]> \r\n\t 😀</a>`;
    const escaped = escapeXml(hostile);
    expect(escaped).not.toMatch(/[<>"']/);
    expect(readText(escaped)).toBe(hostile);
  });

  it("refuses characters XML 1.0 cannot carry", () => {
    for (const bad of ["\u0000", "\u0007", "\u001b", "\ud800", "\uffff"]) {
      expect(() => escapeXml(`a${bad}b`)).toThrow(RangeError);
    }
  });

  it("decodes character references as the text they stand for, once", () => {
    expect(readText("&#34;q&#34; &amp;#34; &#x41;")).toBe('"q" &#34; A');
  });
});
