import {
  type DescField,
  type DescMessage,
  type Message,
  create,
  fromBinary,
  isFieldSet,
  toBinary,
} from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Kind } from "@virtrigaud/proto/manager";
import { type AnyResource, kindInfo } from "../manifest/kinds.js";

/**
 * Stored resources in their binary form, kept beside the message: the
 * store encodes each resource it writes (or decodes each it reads) anyway,
 * and the API's answers (Watch, Apply, Get, List) send the same bytes, so
 * no stored resource is encoded twice. Stored messages are never mutated
 * (the store's contract), so their bytes stay true.
 */
const encodings = new WeakMap<AnyResource, Uint8Array>();

/**
 * The encodings of a resource's top-level messages (its spec, its status),
 * kept beside them for the same reason: a part two versions share (the spec
 * under a status update) is encoded once. Metadata is never kept here: the
 * store sets its resourceVersion after the write is planned.
 */
const parts = new WeakMap<object, Uint8Array>();

/** A message field written as one length-delimited part. */
type PartField = DescField & { fieldKind: "message"; delimitedEncoding: false };

/** Each kind's fields in field-number order, as protobuf-es writes them. */
const sortedFields = new WeakMap<DescMessage, DescField[]>();

function fieldsInOrder(schema: DescMessage): DescField[] {
  let fields = sortedFields.get(schema);
  if (fields === undefined) {
    fields = [...schema.fields].sort((a, b) => a.number - b.number);
    sortedFields.set(schema, fields);
  }
  return fields;
}

function isPart(field: DescField): field is PartField {
  return field.fieldKind === "message" && !field.delimitedEncoding;
}

type Members = Record<string, unknown>;

/** A field's value as protobuf-es keeps it (a oneof's member sits under the oneof). */
function memberOf(message: AnyResource, field: DescField): unknown {
  return (message as unknown as Members)[field.oneof ? field.oneof.localName : field.localName];
}

/** The bytes of one top-level message, from those kept when it may be kept. */
function partBytes(field: PartField, value: Message): Uint8Array {
  const kept = parts.get(value);
  if (kept !== undefined) return kept;
  const bytes = toBinary(field.message, value);
  if (field.localName !== "metadata") parts.set(value, bytes);
  return bytes;
}

/** A message of the kind holding only `field` of `message`, to encode that field alone. */
function shellWith(schema: DescMessage, message: AnyResource, field: DescField): Message {
  const shell = create(schema) as unknown as Members;
  const member = field.oneof ? field.oneof.localName : field.localName;
  shell[member] = (message as unknown as Members)[member];
  return shell as unknown as Message;
}

/**
 * A resource's binary form, encoded at most once per message, and from the
 * parts already encoded: the same bytes `toBinary` writes (fields in number
 * order, unknown fields last).
 */
export function encodeResource(kind: Kind, message: AnyResource): Uint8Array {
  let bytes = encodings.get(message);
  if (bytes !== undefined) return bytes;
  const schema = kindInfo(kind).schema;
  const writer = new BinaryWriter();
  for (const field of fieldsInOrder(schema)) {
    if (!isFieldSet(message as Message, field)) continue;
    if (isPart(field))
      writer
        .tag(field.number, WireType.LengthDelimited)
        .bytes(partBytes(field, memberOf(message, field) as Message));
    else writer.raw(toBinary(schema, shellWith(schema, message, field)));
  }
  for (const { no, wireType, data } of (message as Message).$unknown ?? [])
    writer.tag(no, wireType).raw(data);
  bytes = writer.finish();
  encodings.set(message, bytes);
  return bytes;
}

/** A stored resource read back, its bytes kept for the API's answers. */
export function decodeResource(kind: Kind, bytes: Uint8Array): AnyResource {
  const message = fromBinary(kindInfo(kind).schema, bytes) as AnyResource;
  encodings.set(message, bytes);
  return message;
}
