import { describe, expect, it } from "@jest/globals";
import { el, escapeXmlAttribute, escapeXmlText, renderXml } from "./xml-builder.js";
import { parseXml, text } from "./parse-domain.js";

const hostile = [
  "<script>",
  "a & b",
  `"double" and 'single'`,
  "]]>",
  "<![CDATA[x]]>",
  "line\nbreak\r\nand\ttab",
  "unicode ünïcødé 雪 🚀",
  "&amp; already escaped",
  `"/><evil attr="1`,
];

describe("the XML builder", () => {
  it.each(hostile)("carries %j in text and attributes unchanged through a parser", (value) => {
    const xml = renderXml(el("root", { value }, el("child", {}, value)));
    const parsed = parseXml(xml)["root"] as Record<string, unknown>;
    expect(parsed["@value"]).toBe(value);
    expect(text(parsed["child"])).toBe(value);
    expect(
      Object.keys(parsed)
        .filter((k) => k !== "#text")
        .sort(),
    ).toEqual(["@value", "child"]);
  });

  it("never lets a value close a CDATA section or an element", () => {
    expect(escapeXmlText("]]></a><b>")).toBe("]]&gt;&lt;/a&gt;&lt;b&gt;");
    expect(escapeXmlAttribute(`"'<>&\n`)).toBe("&quot;&apos;&lt;&gt;&amp;&#10;");
  });

  it("refuses characters XML cannot carry", () => {
    expect(() => escapeXmlText("bell\u0007")).toThrow(TypeError);
    expect(() => escapeXmlText("nul\u0000")).toThrow(TypeError);
    expect(() => escapeXmlText("lone \uD800 surrogate")).toThrow(TypeError);
    expect(escapeXmlText("pair 🚀")).toBe("pair 🚀");
  });

  it("refuses element and attribute names that are not XML names", () => {
    expect(() => renderXml(el("a b"))).toThrow(TypeError);
    expect(() => renderXml(el("a", { 'x="1" y': "2" }))).toThrow(TypeError);
  });

  it("leaves out undefined attributes and false children", () => {
    expect(renderXml(el("a", { x: undefined, y: 1 }, false, undefined, el("b")))).toBe(
      '<a y="1">\n  <b/>\n</a>',
    );
  });
});
