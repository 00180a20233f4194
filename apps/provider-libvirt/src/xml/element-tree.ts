import { SaxesParser } from "saxes";

/** An element of a parsed document: its name as written (with any prefix), attributes, children, text. */
export interface XmlElement {
  name: string;
  attributes: Readonly<Record<string, string>>;
  children: XmlElement[];
  /** Its own text and CDATA, entities decoded, whitespace kept; not its children's. */
  text: string;
}

/**
 * Parses a document into elements, with saxes: a strict, non-validating
 * reader that decodes only XML's own entities and character references. A
 * DOCTYPE is refused (libvirt never writes one, and refusing it rules out
 * entity expansion); nesting is held on a heap stack, never recursion.
 *
 * @throws Error naming the first thing that is not well-formed XML.
 */
export function parseElementTree(xml: string): XmlElement {
  const parser = new SaxesParser({ xmlns: false, position: false });
  const root: XmlElement = { name: "", attributes: {}, children: [], text: "" };
  const open: XmlElement[] = [root];
  // Thrown from the handlers, an error ends the parse at once.
  parser.on("error", (err) => {
    throw new Error(`malformed XML: ${err.message}`);
  });
  parser.on("doctype", () => {
    throw new Error("malformed XML: a document type declaration is not accepted");
  });
  parser.on("opentag", (tag) => {
    const element: XmlElement = {
      name: tag.name,
      attributes: tag.attributes,
      children: [],
      text: "",
    };
    open.at(-1)?.children.push(element);
    open.push(element);
  });
  const onText = (text: string) => {
    const current = open.at(-1);
    if (current && current !== root) current.text += text;
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", () => {
    open.pop();
  });
  parser.write(xml).close();
  return root;
}

/** The first child named `name`. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

/** Every child named `name`, in document order. */
export function children(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((c) => c.name === name) : [];
}

/** An attribute's value, or "" when the element or the attribute is missing. */
export function attribute(element: XmlElement | undefined, name: string): string {
  return element?.attributes[name] ?? "";
}
