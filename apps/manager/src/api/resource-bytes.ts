import type { Message } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { type Kind, ResourceSchema } from "@virtrigaud/proto/manager";
import { type AnyResource, kinds } from "../manifest/kinds.js";
import { encodeResource } from "../store/encoded-resources.js";

/** The Resource oneof's field number of each kind. */
const oneofField = new Map(
  kinds.map((k) => [
    k.kind,
    ResourceSchema.fields.find((f) => f.localName === k.oneofCase)?.number ?? 0,
  ]),
);

/**
 * A stored resource as the value of a length-delimited `Resource` field:
 * its length, then the Resource message (the kind's oneof member around the
 * stored bytes). Built from the bytes the store already has, not encoded
 * again: what most answers of the API spend their time on otherwise.
 */
function resourceFieldValue(kind: Kind, message: AnyResource): Uint8Array {
  return new BinaryWriter()
    .fork()
    .tag(oneofField.get(kind) ?? 0, WireType.LengthDelimited)
    .bytes(encodeResource(kind, message))
    .join()
    .finish();
}

/** The resources of answers sent as bytes, for those who read an answer on the server (an audit log). */
const answered = new WeakMap<object, ReadonlyArray<{ kind: Kind; message: AnyResource }>>();

/** The resources `withResourceBytes` put into a response, if it did. */
export function resourcesAnswered(
  response: object,
): ReadonlyArray<{ kind: Kind; message: AnyResource }> | undefined {
  return answered.get(response);
}

/**
 * Puts resources into a response as already-encoded `field` values (kept as
 * unknown fields, which protobuf-es writes out as they are), for the
 * binary protocols only: JSON has no such way.
 */
export function withResourceBytes<T extends Message>(
  response: T,
  field: number,
  resources: ReadonlyArray<{ kind: Kind; message: AnyResource }>,
): T {
  response.$unknown = resources.map(({ kind, message }) => ({
    no: field,
    wireType: WireType.LengthDelimited,
    data: resourceFieldValue(kind, message),
  }));
  answered.set(response, resources);
  return response;
}

/** Content types of the binary protocols: Connect, gRPC and gRPC-Web with protobuf. */
const binaryContentType = /^application\/(connect\+proto|proto|grpc(-web)?(\+proto)?)$/;

/** True when the call's messages are protobuf-encoded; false for JSON or when unknown. */
export function isBinary(requestHeader: Headers | undefined): boolean {
  const contentType = requestHeader?.get("content-type")?.split(";")[0]?.trim() ?? "";
  return binaryContentType.test(contentType);
}
