import {
  type DescFile,
  type Message,
  type Registry,
  createRegistry,
  toJson,
} from "@bufbuild/protobuf";
import { clip, file_virtrigaud_provider_v1_provider_service } from "@virtrigaud/contracts";

/** The longest rendering of one value in a failure message, in characters. */
const renderLimit = 1000;

/** A file and every file it imports, each once. */
function withImports(root: DescFile): DescFile[] {
  const files: DescFile[] = [];
  const queue = [root];
  for (let file = queue.shift(); file; file = queue.shift()) {
    if (files.includes(file)) continue;
    files.push(file);
    queue.push(...file.dependencies);
  }
  return files;
}

/** Every message of the provider contract, and what it imports (google.protobuf.Timestamp, ...). */
const contractTypes: Registry = createRegistry(
  ...withImports(file_virtrigaud_provider_v1_provider_service),
);

/** A bigint's digits, written into the JSON text as a number. */
class Digits {
  constructor(readonly text: string) {}
}

function isMessage(value: object): value is Message {
  return typeof (value as { $typeName?: unknown }).$typeName === "string";
}

function bytesText(bytes: Uint8Array): string {
  const shown = Buffer.from(bytes.subarray(0, 32)).toString("hex");
  return `<${bytes.length} bytes: ${shown}${bytes.length > 32 ? "…" : ""}>`;
}

/**
 * A tree JSON can hold for any value: a message of the contract in its
 * protobuf JSON form (toJson: enum names, timestamps as RFC 3339), bigints as
 * digits, bytes as hex, maps as objects (or [key, value] pairs when a key is
 * not text), sets as arrays, cycles cut.
 */
function toPlain(value: unknown, ancestors: object[]): unknown {
  switch (typeof value) {
    case "bigint":
      return new Digits(value.toString());
    case "number":
      return Number.isFinite(value) ? value : new Digits(String(value));
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return new Digits("undefined");
    case "symbol":
    case "function":
      return String(value);
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.includes(object)) return "[circular]";
  if (ancestors.length > 32) return "[…]";
  const inner = [...ancestors, object];
  const walk = (v: unknown) => toPlain(v, inner);
  if (object instanceof Uint8Array) return bytesText(object);
  if (object instanceof Date)
    return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString();
  if (object instanceof Error) return { name: object.name, message: object.message };
  if (Array.isArray(object)) return object.map(walk);
  if (object instanceof Set) return [...object].map(walk);
  if (object instanceof Map) {
    const entries = [...(object as Map<unknown, unknown>).entries()];
    return entries.every(([k]) => typeof k === "string")
      ? Object.fromEntries(entries.map(([k, v]) => [k, walk(v)]))
      : entries.map(([k, v]) => [walk(k), walk(v)]);
  }
  if (isMessage(object)) {
    const schema = contractTypes.getMessage(object.$typeName);
    if (schema) {
      try {
        return toJson(schema, object, { registry: contractTypes });
      } catch {
        // Not valid for its schema (a timestamp out of range, say): show its fields as they are.
      }
    }
  }
  // As JSON does, a field that is undefined is left out.
  const fields = Object.entries(object).filter(([, v]) => v !== undefined);
  return Object.fromEntries(fields.map(([k, v]) => [k, walk(v)]));
}

function write(value: unknown): string {
  if (value instanceof Digits) return value.text;
  if (Array.isArray(value)) return `[${value.map(write).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`);
    return `{${fields.join(",")}}`;
  }
  return JSON.stringify(value) ?? String(value);
}

/**
 * A value as compact JSON-like text, whatever it holds (bigints, bytes,
 * maps, protobuf messages with timestamps): what checks compare, and what
 * failure messages show. Never throws.
 */
export function canonicalText(value: unknown): string {
  return write(toPlain(value, []));
}

/** `text`, cut to `limit` characters with a note of how many were left out. */
export function truncateText(text: string, limit = renderLimit): string {
  return clip(text, limit);
}

/** A value for a failure message: `canonicalText`, truncated. */
export function renderValue(value: unknown, limit = renderLimit): string {
  return truncateText(canonicalText(value), limit);
}

/**
 * Two texts that differ, for a failure message: whole when both are short,
 * else both cut to the same window around their first difference, so the
 * reader sees what differs rather than the same long beginning twice.
 */
export function renderDifference(
  expected: string,
  actual: string,
  limit = renderLimit,
): { expected: string; actual: string } {
  if (expected.length <= limit && actual.length <= limit) return { expected, actual };
  let first = 0;
  while (first < expected.length && expected[first] === actual[first]) first++;
  const start = Math.max(0, first - Math.floor(limit / 4));
  const window = (text: string) =>
    start > 0
      ? `…(${start} characters)${truncateText(text.slice(start), limit)}`
      : truncateText(text, limit);
  return { expected: window(expected), actual: window(actual) };
}
