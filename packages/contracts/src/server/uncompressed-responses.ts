import { type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { IncomingHttpHeaders } from "node:http";

/**
 * True when `message` (or a message inside it) has a bytes field. Such
 * responses are sent uncompressed: what travels in bytes here is disk data
 * (random-looking, its zero runs already sent as zero_length) or ciphertext,
 * and gzip of a 2 MiB chunk costs a call more time than the bytes it saves.
 */
export function carriesBytes(message: DescMessage, seen = new Set<DescMessage>()): boolean {
  if (seen.has(message)) return false;
  seen.add(message);
  return message.fields.some(
    (field) =>
      (field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES) ||
      (field.fieldKind === "message" && carriesBytes(field.message, seen)) ||
      (field.fieldKind === "list" &&
        field.listKind === "scalar" &&
        field.scalar === ScalarType.BYTES) ||
      (field.fieldKind === "list" &&
        field.listKind === "message" &&
        carriesBytes(field.message, seen)),
  );
}

/** The headers by which a client offers to accept compressed responses, in each protocol. */
const acceptEncodingHeaders = [
  "accept-encoding",
  "connect-accept-encoding",
  "grpc-accept-encoding",
];

/** Makes a request ask for an uncompressed response, whatever its client offered. */
export function refuseResponseCompression(headers: IncomingHttpHeaders): void {
  for (const name of acceptEncodingHeaders) delete headers[name];
}
