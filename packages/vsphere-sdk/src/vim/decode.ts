import {
  type XmlNode,
  attribute,
  childElements,
  localName,
  textOf,
  xsiTypeOf,
} from "../xml/parse.js";
import { allFields, primitiveTypes } from "./type-info.js";

/** Element types of the ArrayOfX wrappers whose X is a primitive. */
const arrayElementTypes: Record<string, string> = {
  ArrayOfString: "string",
  ArrayOfInt: "int",
  ArrayOfLong: "long",
  ArrayOfShort: "short",
  ArrayOfByte: "byte",
  ArrayOfBoolean: "boolean",
  ArrayOfFloat: "float",
  ArrayOfDouble: "double",
  ArrayOfDateTime: "dateTime",
  ArrayOfAnyType: "anyType",
  ArrayOfManagedObjectReference: "ManagedObjectReference",
};

function decodePrimitive(text: string, type: string): unknown {
  switch (type) {
    case "boolean":
      return text === "true" || text === "1";
    case "int":
    case "long":
    case "short":
    case "byte":
    case "float":
    case "double":
      return Number(text);
    default:
      return text;
  }
}

/**
 * Decodes an element of declared type `type` into plain values: primitives
 * as strings, numbers and booleans; managed object references as
 * `{type, value}`; data objects as objects with `_type` set to their actual
 * type (the element's xsi:type, or the declared one). Fields of types the
 * SDK's subset knows are read by the schema (lists always as arrays); other
 * types are read generically.
 */
export function decodeElement(node: XmlNode, type: string): unknown {
  const actual = xsiTypeOf(node) ?? type;
  if (actual === "ManagedObjectReference") {
    return { type: attribute(node, "type") ?? "", value: textOf(node) };
  }
  if (primitiveTypes.has(actual) && actual !== "anyType") {
    return decodePrimitive(textOf(node), actual);
  }
  if (actual.startsWith("ArrayOf")) {
    const element = arrayElementTypes[actual] ?? actual.slice("ArrayOf".length);
    const out: unknown[] = [];
    for (const [, occurrences] of childElements(node)) {
      for (const item of occurrences) out.push(decodeElement(item, element));
    }
    return out;
  }
  const fields = allFields(actual);
  if (!fields) return decodeGeneric(node, actual);
  const out: Record<string, unknown> = { _type: actual };
  if (typeof node === "string") return out;
  for (const [name, fieldType, array] of fields) {
    const occurrences = node[name];
    if (!Array.isArray(occurrences)) {
      if (array) out[name] = [];
      continue;
    }
    const values = occurrences.map((item) => decodeElement(item, fieldType));
    out[name] = array ? values : values[0];
  }
  return out;
}

/** Reads an element of a type the SDK's subset does not describe. */
function decodeGeneric(node: XmlNode, type: string | undefined): unknown {
  if (typeof node === "string") return node;
  if (attribute(node, "type") !== undefined && childElements(node).length === 0) {
    return { type: attribute(node, "type"), value: textOf(node) };
  }
  const elements = childElements(node);
  if (elements.length === 0) return textOf(node);
  const out: Record<string, unknown> = type ? { _type: type } : {};
  for (const [name, occurrences] of elements) {
    const values = occurrences.map((item) => {
      const itemType = xsiTypeOf(item);
      return itemType ? decodeElement(item, itemType) : decodeGeneric(item, undefined);
    });
    out[localName(name)] = values.length === 1 ? values[0] : values;
  }
  return out;
}
