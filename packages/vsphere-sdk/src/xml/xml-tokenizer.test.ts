import { describe, expect, it } from "@jest/globals";
import { type XmlHandler, XmlSyntaxError, XmlTokenizer } from "./xml-tokenizer.js";

/** The events of reading `chunks` as one document, texts joined as the reader joins them. */
function eventsOf(chunks: string[], handler: Partial<XmlHandler> = {}): string[] {
  const events: string[] = [];
  let inText = false;
  const event = (what: string) => {
    inText = false;
    events.push(what);
  };
  const tokenizer = new XmlTokenizer({
    attribute: (name, value) => event(`@${name}=${value}`),
    openTag: (name) => event(`<${name}>`),
    closeTag: () => event("</>"),
    text: (text) => {
      if (inText) events[events.length - 1] += text;
      else event(`'${text}`);
      inText = true;
    },
    doctype: () => undefined,
    ...handler,
  });
  for (const chunk of chunks) tokenizer.write(chunk);
  tokenizer.close();
  return events;
}

/** `text` cut into chunks of `size` characters. */
function chunked(text: string, size: number): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
  return chunks;
}

/** The message of the XmlSyntaxError reading `text` throws. */
function errorOf(text: string | string[]): string {
  try {
    eventsOf(typeof text === "string" ? [text] : text);
  } catch (err) {
    expect(err).toBeInstanceOf(XmlSyntaxError);
    return (err as Error).message;
  }
  throw new Error("nothing was thrown");
}

const document =
  '<?xml version="1.0" encoding="UTF-8"?>\r\n<!-- a comment -->' +
  "<e:Envelope xmlns:e='urn:e' a = \"x\ty\r\nz\">" +
  '<a:val t="&lt;&#x41;&#66;&quot;"/>text &amp; more\r\n<![CDATA[<not> &amp; a tag]]>' +
  "<?pi data?><b>&apos;&gt;]]</b></e:Envelope>\n";

describe("the XML tokenizer", () => {
  it("reads elements, attributes, text, CDATA and references, in chunks of any size alike", () => {
    const whole = eventsOf([document]);
    expect(whole).toEqual([
      "@xmlns:e=urn:e",
      "@a=x y  z",
      "<e:Envelope>",
      '@t=<AB"',
      "<a:val>",
      "</>",
      "'text & more\n<not> &amp; a tag",
      "<b>",
      "''>]]",
      "</>",
      "</>",
    ]);
    for (const size of [1, 2, 3, 5, 7, 64])
      expect(eventsOf(chunked(document, size))).toEqual(whole);
  });

  it("refuses a DOCTYPE even when the handler lets it pass", () => {
    expect(errorOf('<!DOCTYPE v [<!ENTITY a "lol">]><v>&a;</v>')).toBe(
      "1:1: a DOCTYPE, which is refused",
    );
  });

  it("refuses what is not well-formed, saying where", () => {
    const cases: Array<[string, string]> = [
      ["<a>\n  <b></c></a>", "2:6: </c> closes <b>"],
      ["<a x=1/>", "1:6: the value of x is not quoted"],
      ['<a x="1" x="2"/>', "1:10: the attribute x is repeated"],
      ['<a x="1"y="2"/>', "1:9: no space before an attribute of <a>"],
      ['<a x="<"/>', "1:6: a < in the value of x"],
      ["<a x/>", "1:5: the attribute x has no value"],
      ["<a/><b/>", "1:5: a second root element"],
      ["x<a/>", "1:1: text outside the root element"],
      ["<a/>x", "1:5: text outside the root element"],
      ["<a>w\u0001b</a>", "1:5: a character XML does not allow"],
      ["<a>&passwd;</a>", "1:4: undefined entity &passwd;"],
      ["<a>&constructor;</a>", "1:4: undefined entity &constructor;"],
      ["<a>fish & chips</a>", "1:9: an & that begins no reference"],
      ["<a>&#0;</a>", "1:4: &#0; is not a character XML allows"],
      ["<a>&#x110000;</a>", "1:4: &#x110000; is not a character XML allows"],
      ["<a>]]></a>", "1:4: ]]> in text"],
      ["<a><!-- a -- b --></a>", "1:11: -- in a comment"],
      ['<a/><?xml version="1.0"?>', "1:5: an XML declaration after the start of the document"],
      ["<a><![CDATA[x]]></a><![CDATA[y]]>", "1:21: CDATA outside the root element"],
      ["<a><!ELEMENT a></a>", "1:4: a <! that begins no comment or CDATA"],
      ["< a/>", "1:1: a tag without a name"],
      ["<a></ a>", "1:4: an end tag without a name"],
      ["<a></a b>", "1:8: an end tag with more than a name"],
      ["<a/></a>", "1:5: </a> closes nothing"],
      ["<a/ >", "1:3: a / in <a>"],
    ];
    for (const [text, message] of cases) {
      expect(errorOf(text)).toBe(message);
      // Wherever the chunks are cut, the same error.
      expect(errorOf(chunked(text, 1))).toBe(message);
    }
  });

  it("refuses a document that ends early, wherever it ends", () => {
    expect(errorOf("")).toBe("1:1: the document has no root element");
    expect(errorOf("<a><b>x</b>")).toBe("1:12: the document ends before </a>");
    expect(errorOf('<a x="1')).toBe("1:8: the document ends inside a tag");
    expect(errorOf("<a><!-- x")).toBe("1:10: the document ends inside a comment or CDATA");
    for (let end = 0; end < document.length - 1; end++) {
      expect(() => eventsOf([document.slice(0, end)])).toThrow(XmlSyntaxError);
    }
  });

  it("counts lines and columns across chunks", () => {
    expect(errorOf(["<a>\n", "\n  x\n", " <b></c></a>"])).toBe("4:5: </c> closes <b>");
  });

  it("reads a huge text, a huge CDATA and deep nesting in chunks, without recursion", () => {
    const huge = "0123456789abcdef".repeat(1 << 20);
    const texts = eventsOf(chunked(`<a>${huge}<![CDATA[${huge}]]></a>`, 1 << 14));
    expect(texts).toEqual(["<a>", `'${huge}${huge}`, "</>"]);
    const depth = 100_000;
    const nested = eventsOf(chunked("<a>".repeat(depth) + "</a>".repeat(depth), 1 << 14));
    expect(nested).toHaveLength(2 * depth);
  });

  it("refuses a tag longer than 64 KiB rather than rescanning it with every chunk", () => {
    const chunks = ['<a x="', ...chunked("y".repeat(1 << 20), 1 << 14), '"/>'];
    expect(errorOf(chunks)).toBe("1:1: a tag longer than 65536 characters");
  });
});
