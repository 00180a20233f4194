import { XMLParser } from "fast-xml-parser";

/**
 * An element as the parser returns it: child elements by name, each an array
 * of occurrences; attributes as `@_name`; text as `#text`. A leaf element
 * without attributes is its text.
 */
export type XmlElement = { [name: string]: XmlNode[] | string | undefined };
export type XmlNode = XmlElement | string;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  textNodeName: "#text",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  removeNSPrefix: false,
  processEntities: true,
  // Also decodes character references (&#34;), which Go servers such as vcsim write for
  // quotes. &amp; is decoded last, so "&amp;#34;" stays the text "&#34;".
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Every element is a list of occurrences, so one and many read the same.
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

/**
 * Parses an XML document.
 *
 * @throws Error when the document is not well-formed or declares a DOCTYPE
 * (no SOAP response has one; refusing it rules out entity expansion).
 */
export function parseXml(text: string): XmlElement {
  if (/<!DOCTYPE/i.test(text)) throw new Error("XML with a DOCTYPE is refused");
  return parser.parse(text, true) as XmlElement;
}

/** The local part of a qualified name: "soapenv:Body" is "Body". */
export function localName(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}

/** The child elements of `node` whose local name is `name`. */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined || typeof node === "string") return [];
  for (const key of Object.keys(node)) {
    if (key.startsWith("@_") || key === "#text") continue;
    if (key === name || localName(key) === name) {
      const value = node[key];
      return Array.isArray(value) ? value : [];
    }
  }
  return [];
}

/** The child elements of `node`, as [name, occurrences] pairs. */
export function childElements(node: XmlNode): Array<[string, XmlNode[]]> {
  if (typeof node === "string") return [];
  const out: Array<[string, XmlNode[]]> = [];
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("@_") || key === "#text" || !Array.isArray(value)) continue;
    out.push([key, value]);
  }
  return out;
}

/** An attribute by its exact name, for example "type". */
export function attribute(node: XmlNode, name: string): string | undefined {
  if (typeof node === "string") return undefined;
  const value = node[`@_${name}`];
  return typeof value === "string" ? value : undefined;
}

/** The local part of the element's xsi:type (any prefix), for example "VirtualDisk" or "string". */
export function xsiTypeOf(node: XmlNode): string | undefined {
  if (typeof node === "string") return undefined;
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("@_") && key.endsWith(":type") && typeof value === "string") {
      return localName(value);
    }
  }
  return undefined;
}

/** The text of an element. */
export function textOf(node: XmlNode): string {
  if (typeof node === "string") return node;
  const text = node["#text"];
  return typeof text === "string" ? text : "";
}
