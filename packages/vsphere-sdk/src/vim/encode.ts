import { escapeXml } from "../xml/escape.js";
import { allFields, isKnownType, isSubtypeOf, primitiveTypes } from "./type-info.js";

/**
 * A value for an `xsd:anyType` field (OptionValue.value, for example) whose
 * XML Schema type cannot be read off the JavaScript value: `vimValue("long", 5)`.
 */
export interface XsdValue {
  _xsd: string;
  value: string | number | boolean;
}

/** Boxes a primitive for an anyType field with an explicit XML Schema type. */
export function xsdValue(type: string, value: string | number | boolean): XsdValue {
  if (!primitiveTypes.has(type) || type === "anyType") {
    throw new TypeError(`${type} is not an XML Schema primitive type`);
  }
  return { _xsd: type, value };
}

function isXsdValue(value: unknown): value is XsdValue {
  return typeof value === "object" && value !== null && "_xsd" in value;
}

function primitiveText(value: unknown, type: string, path: string): string {
  switch (type) {
    case "string":
    case "base64Binary":
      if (typeof value !== "string") throw new TypeError(`${path} must be a string`);
      return escapeXml(value);
    case "boolean":
      if (typeof value !== "boolean") throw new TypeError(`${path} must be a boolean`);
      return value ? "true" : "false";
    case "int":
    case "long":
    case "short":
    case "byte":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) {
        throw new TypeError(`${path} must be an integer`);
      }
      return String(value);
    case "float":
    case "double":
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new TypeError(`${path} must be a finite number`);
      }
      return String(value);
    case "dateTime":
      if (value instanceof Date) return value.toISOString();
      if (typeof value !== "string") throw new TypeError(`${path} must be a Date or a string`);
      return escapeXml(value);
    default:
      throw new TypeError(`${path}: ${type} is not a primitive type`);
  }
}

/**
 * Appends the XML of `value` as element `tag` of declared type `type` to
 * `out`. Data objects are written field by field in schema order, with
 * `xsi:type` when their `_type` is a subtype of the declared type; every
 * string is escaped.
 *
 * @throws TypeError when the value does not fit its type: a wrong primitive,
 * an unknown field, or a `_type` that is not a subtype of the declared type.
 */
export function encodeElement(
  out: string[],
  tag: string,
  value: unknown,
  type: string,
  array = false,
  path = tag,
): void {
  if (value === undefined || value === null) return;
  if (array) {
    if (!Array.isArray(value)) throw new TypeError(`${path} must be an array`);
    value.forEach((item, i) => encodeElement(out, tag, item, type, false, `${path}[${i}]`));
    return;
  }
  if (type === "ManagedObjectReference") {
    const ref = value as { type?: unknown; value?: unknown };
    if (typeof ref.type !== "string" || typeof ref.value !== "string") {
      throw new TypeError(`${path} must be a managed object reference {type, value}`);
    }
    out.push(`<${tag} type="${escapeXml(ref.type)}">${escapeXml(ref.value)}</${tag}>`);
    return;
  }
  if (type === "anyType") {
    encodeAny(out, tag, value, path);
    return;
  }
  if (primitiveTypes.has(type)) {
    out.push(`<${tag}>${primitiveText(value, type, path)}</${tag}>`);
    return;
  }
  encodeObject(out, tag, value, type, path, false);
}

function encodeAny(out: string[], tag: string, value: unknown, path: string): void {
  if (isXsdValue(value)) {
    out.push(
      `<${tag} xsi:type="xsd:${value._xsd}">${primitiveText(value.value, value._xsd, path)}</${tag}>`,
    );
  } else if (typeof value === "string") {
    out.push(`<${tag} xsi:type="xsd:string">${escapeXml(value)}</${tag}>`);
  } else if (typeof value === "boolean") {
    out.push(`<${tag} xsi:type="xsd:boolean">${value ? "true" : "false"}</${tag}>`);
  } else if (typeof value === "number") {
    const type = Number.isSafeInteger(value) ? "long" : "double";
    out.push(`<${tag} xsi:type="xsd:${type}">${primitiveText(value, type, path)}</${tag}>`);
  } else if (typeof value === "object" && value !== null && "_type" in value) {
    const type = String(value._type);
    if (type === "ManagedObjectReference") {
      const ref = value as { type?: unknown; value?: unknown };
      out.push(
        `<${tag} xsi:type="ManagedObjectReference" type="${escapeXml(String(ref.type))}">${escapeXml(String(ref.value))}</${tag}>`,
      );
    } else {
      encodeObject(out, tag, value, type, path, true);
    }
  } else {
    throw new TypeError(`${path}: an anyType value needs a _type or xsdValue()`);
  }
}

function encodeObject(
  out: string[],
  tag: string,
  value: unknown,
  declared: string,
  path: string,
  forceXsiType: boolean,
): void {
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${path} must be a ${declared} object`);
  }
  const record = value as Record<string, unknown>;
  const actual = typeof record["_type"] === "string" ? record["_type"] : declared;
  const fields = allFields(actual);
  if (!fields) throw new TypeError(`${path}: ${actual} is not in the SDK's vim25 subset`);
  if (isKnownType(declared) && !isSubtypeOf(actual, declared)) {
    throw new TypeError(`${path}: ${actual} is not a ${declared}`);
  }
  const known = new Set(fields.map(([name]) => name));
  for (const key of Object.keys(record)) {
    if (key !== "_type" && !known.has(key) && record[key] !== undefined) {
      throw new TypeError(`${path}: ${actual} has no field ${key}`);
    }
  }
  const xsiType = forceXsiType || actual !== declared ? ` xsi:type="${actual}"` : "";
  out.push(`<${tag}${xsiType}>`);
  for (const [name, type, array] of fields) {
    encodeElement(out, name, record[name], type, array, `${path}.${name}`);
  }
  out.push(`</${tag}>`);
}
