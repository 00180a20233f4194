import { fromBinary, toBinary } from "@bufbuild/protobuf";
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

/** A resource's binary form, encoded at most once per message. */
export function encodeResource(kind: Kind, message: AnyResource): Uint8Array {
  let bytes = encodings.get(message);
  if (bytes === undefined) {
    bytes = toBinary(kindInfo(kind).schema, message);
    encodings.set(message, bytes);
  }
  return bytes;
}

/** A stored resource read back, its bytes kept for the API's answers. */
export function decodeResource(kind: Kind, bytes: Uint8Array): AnyResource {
  const message = fromBinary(kindInfo(kind).schema, bytes) as AnyResource;
  encodings.set(message, bytes);
  return message;
}
