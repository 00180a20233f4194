import {
  type DescEnum,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  ScalarType,
  fromJson,
  toJson,
} from "@bufbuild/protobuf";
import { ProviderError } from "@virtrigaud/contracts";
import type { Resource } from "@virtrigaud/proto/manager";
import { fromManifestName, manifestName, manifestNames } from "./enum-names.js";
import {
  type AnyResource,
  type KindInfo,
  apiVersion,
  findKind,
  fromResource,
  kinds,
  toResource,
} from "./kinds.js";

/** A plain manifest object, as YAML or JSON parse to. */
export type Manifest = Record<string, unknown>;

const passThrough = new Set([
  "google.protobuf.Struct",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
]);

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const integerTypes = new Set([
  ScalarType.INT32,
  ScalarType.UINT32,
  ScalarType.SINT32,
  ScalarType.FIXED32,
  ScalarType.SFIXED32,
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function scalarIn(type: ScalarType, value: unknown, path: string): JsonValue {
  if (type === ScalarType.STRING) {
    // YAML reads `version: 2.0` or `enabled: true` as numbers and booleans.
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    throw ProviderError.invalidSpec(path, `must be a string, got ${typeName(value)}`);
  }
  if (type === ScalarType.BYTES) {
    // As Kubernetes writes a Secret's data: standard base64, padded.
    if (typeof value === "string" && base64.test(value)) return value;
    throw ProviderError.invalidSpec(path, "must be base64 (A-Z, a-z, 0-9, '+', '/', '=' padded)");
  }
  if (type === ScalarType.BOOL) {
    if (typeof value === "boolean") return value;
    throw ProviderError.invalidSpec(path, `must be true or false, got ${typeName(value)}`);
  }
  if (integerTypes.has(type)) {
    const unsigned = type === ScalarType.UINT32 || type === ScalarType.UINT64;
    const wide = type === ScalarType.INT64 || type === ScalarType.UINT64;
    if (typeof value !== "number" || !Number.isInteger(value))
      throw ProviderError.invalidSpec(path, `must be a whole number, got ${typeName(value)}`);
    if (unsigned && value < 0) throw ProviderError.invalidSpec(path, "must not be negative");
    if (!wide && Math.abs(value) > 2 ** 31 - 1)
      throw ProviderError.invalidSpec(path, `${value} is too large`);
    return value;
  }
  if (typeof value !== "number")
    throw ProviderError.invalidSpec(path, `must be a number, got ${typeName(value)}`);
  return value;
}

function enumIn(desc: DescEnum, value: unknown, path: string): JsonValue {
  const number = typeof value === "string" ? fromManifestName(desc, value) : undefined;
  if (number === undefined) {
    throw ProviderError.invalidSpec(
      path,
      `must be one of ${manifestNames(desc).join(", ")}, got ${
        typeof value === "string" ? JSON.stringify(value) : typeName(value)
      }`,
    );
  }
  return number;
}

function singleIn(
  field: DescField,
  kind: "scalar" | "enum" | "message",
  value: unknown,
  path: string,
): JsonValue {
  switch (kind) {
    case "scalar":
      return scalarIn(field.scalar as ScalarType, value, path);
    case "enum":
      return enumIn(field.enum as DescEnum, value, path);
    case "message":
      return messageIn(field.message as DescMessage, value, path);
  }
}

function messageIn(desc: DescMessage, value: unknown, path: string): JsonValue {
  if (passThrough.has(desc.typeName)) {
    if (
      desc.typeName === "google.protobuf.Struct" &&
      (typeof value !== "object" || Array.isArray(value))
    )
      throw ProviderError.invalidSpec(path, `must be an object, got ${typeName(value)}`);
    return value as JsonValue;
  }
  if (desc.typeName === "google.protobuf.Timestamp") {
    if (typeof value !== "string" || Number.isNaN(Date.parse(value)))
      throw ProviderError.invalidSpec(
        path,
        "must be an RFC 3339 time, such as 2025-01-31T12:00:00Z",
      );
    return value;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw ProviderError.invalidSpec(
      path || "(document)",
      `must be an object, got ${typeName(value)}`,
    );
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const where = join(path, key);
    const field = desc.fields.find((f) => f.jsonName === key);
    if (!field) throw ProviderError.invalidSpec(where, "unknown field");
    if (item === null || item === undefined) continue;
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
      case "message":
        out[key] = singleIn(field, field.fieldKind, item, where);
        break;
      case "list":
        if (!Array.isArray(item))
          throw ProviderError.invalidSpec(where, `must be a list, got ${typeName(item)}`);
        out[key] = item.map((element, i) =>
          singleIn(field, field.listKind, element, `${where}[${i}]`),
        );
        break;
      case "map": {
        if (typeof item !== "object" || Array.isArray(item))
          throw ProviderError.invalidSpec(where, `must be an object, got ${typeName(item)}`);
        const entries: JsonObject = {};
        for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
          const at = `${where}[${JSON.stringify(k)}]`;
          entries[k] =
            field.mapKind === "scalar" &&
            field.scalar === ScalarType.STRING &&
            typeof v !== "string"
              ? (() => {
                  throw ProviderError.invalidSpec(at, `must be a string, got ${typeName(v)}`);
                })()
              : singleIn(field, field.mapKind, v, at);
        }
        out[key] = entries;
        break;
      }
    }
  }
  return out;
}

/**
 * Reads a manifest whose spec fields sit at the top level, as Kubernetes'
 * RBAC kinds write `rules`, `subjects` and `roleRef`, into the message's
 * JSON with them under `spec`; problems are named by the manifest's paths.
 */
function topLevelSpecIn(info: KindInfo, doc: Manifest): JsonValue {
  const specDesc = info.schema.fields.find((f) => f.name === "spec")?.message as DescMessage;
  const spec: Manifest = {};
  const rest: Manifest = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === "spec" || key === "status") throw ProviderError.invalidSpec(key, "unknown field");
    if (info.topLevelSpec?.includes(key)) spec[key] = value;
    else rest[key] = value;
  }
  return {
    ...(messageIn(info.schema, rest, "") as JsonObject),
    spec: messageIn(specDesc, spec, ""),
  };
}

/**
 * Turns a manifest (a parsed YAML or JSON document) into a Resource. Field
 * names, types and enum spellings are those of the `infra.virtrigaud.io/v1beta1`
 * format; enums take the strings of their `manifest_value` options.
 *
 * @throws ProviderError INVALID_SPEC whose field is the manifest path of the
 * first problem ("spec.powerState", "spec.disks[0].sizeGiB"), for an unknown
 * field, a value of the wrong type, an unknown enum string, a wrong
 * apiVersion or an unknown kind.
 */
export function decodeManifest(manifest: unknown): Resource {
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest))
    throw ProviderError.invalidSpec("(document)", `must be an object, got ${typeName(manifest)}`);
  const doc = manifest as Manifest;
  const info = typeof doc["kind"] === "string" ? findKind(doc["kind"]) : undefined;
  const expected = info?.apiVersion ?? apiVersion;
  if (doc["apiVersion"] !== expected)
    throw ProviderError.invalidSpec(
      "apiVersion",
      `must be ${expected}, got ${JSON.stringify(doc["apiVersion"] ?? null)}`,
    );
  if (!info || info.name !== doc["kind"])
    throw ProviderError.invalidSpec(
      "kind",
      `must be one of ${kinds.map((k) => k.name).join(", ")}, got ${JSON.stringify(doc["kind"] ?? null)}`,
    );
  const json = info.topLevelSpec ? topLevelSpecIn(info, doc) : messageIn(info.schema, doc, "");
  let message: AnyResource;
  try {
    message = fromJson(info.schema, json) as AnyResource;
  } catch (err) {
    // Every type was checked above; what is left is a value out of range.
    throw ProviderError.invalidSpec("(document)", (err as Error).message, { cause: err });
  }
  return toResource(info.kind, message);
}

function singleOut(
  field: DescField,
  kind: "scalar" | "enum" | "message",
  value: JsonValue,
): JsonValue {
  if (kind === "enum") {
    const desc = field.enum as DescEnum;
    const number =
      typeof value === "number" ? value : (desc.values.find((v) => v.name === value)?.number ?? 0);
    return manifestName(desc, number) ?? value;
  }
  if (kind === "message") return messageOut(field.message as DescMessage, value);
  // int64 travels as a string in proto3 JSON; manifests write numbers.
  if (typeof value === "string" && integerTypes.has(field.scalar as ScalarType)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  return value;
}

function messageOut(desc: DescMessage, value: JsonValue): JsonValue {
  if (passThrough.has(desc.typeName) || desc.typeName === "google.protobuf.Timestamp") return value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const out: JsonObject = {};
  for (const field of desc.fields) {
    const item = value[field.jsonName];
    if (item === undefined) continue;
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
      case "message":
        out[field.jsonName] = singleOut(field, field.fieldKind, item);
        break;
      case "list":
        out[field.jsonName] = (item as JsonValue[]).map((e) => singleOut(field, field.listKind, e));
        break;
      case "map": {
        const entries: JsonObject = {};
        for (const [k, v] of Object.entries(item as JsonObject))
          entries[k] = singleOut(field, field.mapKind, v);
        out[field.jsonName] = entries;
        break;
      }
    }
  }
  return out;
}

/**
 * Turns a Resource into its manifest: the `infra.virtrigaud.io/v1beta1`
 * object vrtg prints as YAML or JSON, with apiVersion and kind filled in.
 *
 * @throws Error when the Resource is empty.
 */
export function encodeManifest(resource: Resource): Manifest {
  const inner = fromResource(resource);
  if (!inner) throw new Error("the resource is empty");
  const json = toJson(inner.info.schema, inner.message, { enumAsInteger: true }) as JsonObject;
  const out = messageOut(inner.info.schema, json) as JsonObject;
  const manifest: Manifest = {
    ...out,
    apiVersion: inner.info.apiVersion ?? apiVersion,
    kind: inner.info.name,
    ...withoutTypeFields(out),
  };
  if (!inner.info.topLevelSpec) return manifest;
  // Kubernetes' RBAC kinds have no spec or status: their fields sit at the top.
  const { spec, ...rest } = manifest;
  delete rest["status"];
  return { ...rest, ...(spec as JsonObject | undefined) };
}

function withoutTypeFields(object: JsonObject): JsonObject {
  const rest = { ...object };
  delete rest["apiVersion"];
  delete rest["kind"];
  return rest;
}
