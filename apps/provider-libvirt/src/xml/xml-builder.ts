/**
 * A small XML builder: elements are plain objects, rendered with every text
 * and attribute value escaped. Values pass through `escapeXmlText` and
 * `escapeXmlAttribute` and nothing else, so no name, label or path can close
 * an element, open a CDATA section or add an attribute.
 */

/** An element: its name, attributes (undefined ones are left out) and children. */
export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string | number | undefined>>;
  children: readonly XmlNode[];
}

/** A child: an element or text. */
export type XmlNode = XmlElement | string;

/** Makes an element. Children that are `undefined` or `false` are left out, for conditional parts. */
export function el(
  name: string,
  attributes: Readonly<Record<string, string | number | undefined>> = {},
  ...children: ReadonlyArray<
    XmlNode | undefined | false | ReadonlyArray<XmlNode | undefined | false>
  >
): XmlElement {
  const flat = children.flat().filter((c): c is XmlNode => c !== undefined && c !== false);
  return { name, attributes, children: flat };
}

// Characters XML 1.0 cannot carry at all, even escaped.
const forbidden =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;
const xmlName = /^[A-Za-z_][A-Za-z0-9._-]*(:[A-Za-z_][A-Za-z0-9._-]*)?$/;

function checkChars(value: string): void {
  if (forbidden.test(value)) {
    throw new TypeError("XML cannot carry control characters or unpaired surrogates");
  }
}

/**
 * Escapes text content: `&`, `<` and `>` (so `]]>` cannot appear), and
 * carriage returns, which a parser would otherwise fold into line feeds.
 *
 * @throws TypeError for characters XML cannot carry (controls other than tab and line breaks).
 */
export function escapeXmlText(value: string): string {
  checkChars(value);
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll("\r", "&#13;");
}

/**
 * Escapes an attribute value for double quotes, including `'` and line
 * breaks and tabs (which a parser would otherwise normalise to spaces).
 *
 * @throws TypeError for characters XML cannot carry.
 */
export function escapeXmlAttribute(value: string): string {
  return escapeXmlText(value)
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;")
    .replaceAll("\t", "&#9;")
    .replaceAll("\n", "&#10;");
}

/**
 * Renders an element on one line, with line breaks in text written as
 * character references: for command arguments, which cannot hold a newline.
 *
 * @throws TypeError as renderXml does.
 */
export function renderXmlLine(node: XmlElement): string {
  return render(node, undefined);
}

/**
 * Renders an element as indented XML.
 *
 * @throws TypeError for an element or attribute name that is not an XML name,
 * or a value XML cannot carry.
 */
export function renderXml(node: XmlElement): string {
  return render(node, "");
}

/** Renders indented below `indent`, or on one line when `indent` is undefined. */
function render(node: XmlElement, indent: string | undefined): string {
  if (!xmlName.test(node.name)) throw new TypeError(`not an XML name: ${node.name}`);
  let attributes = "";
  for (const [key, value] of Object.entries(node.attributes)) {
    if (value === undefined) continue;
    if (!xmlName.test(key)) throw new TypeError(`not an XML attribute name: ${key}`);
    attributes += ` ${key}="${escapeXmlAttribute(String(value))}"`;
  }
  const open = `${indent ?? ""}<${node.name}${attributes}`;
  if (!node.children.length) return `${open}/>`;
  const escape = (t: string) =>
    indent === undefined ? escapeXmlText(t).replaceAll("\n", "&#10;") : escapeXmlText(t);
  if (node.children.every((c) => typeof c === "string")) {
    return `${open}>${node.children.map((c) => (typeof c === "string" ? escape(c) : "")).join("")}</${node.name}>`;
  }
  if (indent === undefined) {
    return `${open}>${node.children.map((c) => (typeof c === "string" ? escape(c) : render(c, undefined))).join("")}</${node.name}>`;
  }
  const inner = node.children
    .map((c) =>
      typeof c === "string" ? `${indent}  ${escapeXmlText(c)}` : render(c, `${indent}  `),
    )
    .join("\n");
  return `${open}>\n${inner}\n${indent}</${node.name}>`;
}
