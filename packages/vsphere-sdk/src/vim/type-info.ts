import { dataTypes } from "../gen/vim-types.js";

/** A field of a vim25 data type: its element name, its type, and whether it repeats. */
export type FieldInfo = readonly [name: string, type: string, array?: boolean];

/** A vim25 data type: its base type and its own fields, in schema order. */
export interface DataTypeInfo {
  base?: string;
  fields: readonly FieldInfo[];
}

/** A vim25 method: its parameters after `_this`, in order, and what it returns. */
export interface MethodInfo {
  params: readonly FieldInfo[];
  returns?: readonly [type: string, array?: boolean];
}

/** The XML Schema primitive types vim25 uses, as they appear in the type tables. */
export const primitiveTypes = new Set([
  "string",
  "boolean",
  "int",
  "long",
  "short",
  "byte",
  "float",
  "double",
  "dateTime",
  "base64Binary",
  "anyType",
]);

const fieldCache = new Map<string, readonly FieldInfo[]>();

/** Every field of `type`, its base types' first, in schema order; undefined for an unknown type. */
export function allFields(type: string): readonly FieldInfo[] | undefined {
  const cached = fieldCache.get(type);
  if (cached) return cached;
  // Own entries only: a server's type name may be "constructor" or "__proto__".
  if (!Object.hasOwn(dataTypes, type)) return undefined;
  const info = dataTypes[type];
  if (!info) return undefined;
  const fields = [...(info.base ? (allFields(info.base) ?? []) : []), ...info.fields];
  fieldCache.set(type, fields);
  return fields;
}

/** True when `type` is `base` or derives from it (as far as the SDK's subset knows). */
export function isSubtypeOf(type: string, base: string): boolean {
  for (let t: string | undefined = type; t; t = isKnownType(t) ? dataTypes[t]?.base : undefined) {
    if (t === base) return true;
  }
  return false;
}

/** True when the SDK's vim25 subset knows `type`. */
export function isKnownType(type: string): boolean {
  return Object.hasOwn(dataTypes, type);
}
