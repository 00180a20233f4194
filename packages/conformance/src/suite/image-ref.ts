import type { MessageInitShape } from "@bufbuild/protobuf";
import { ChecksumAlgorithm, type ImageSourceSchema } from "@virtrigaud/contracts";

/**
 * Parses an image reference: "template:NAME", "path:PATH", or
 * "url:URL#sha256=HEX" (or #sha512=HEX).
 *
 * @throws Error saying which forms are accepted.
 */
export function parseImageRef(ref: string): MessageInitShape<typeof ImageSourceSchema> {
  const colon = ref.indexOf(":");
  const kind = ref.slice(0, colon);
  const value = ref.slice(colon + 1);
  if (colon > 0 && value && kind === "template") return { source: { case: "template", value } };
  if (colon > 0 && value && kind === "path") return { source: { case: "path", value } };
  if (colon > 0 && value && kind === "url") {
    const match = /^(.+)#(sha256|sha512)=([0-9a-fA-F]+)$/.exec(value);
    if (match?.[1] && match[3]) {
      const algorithm = match[2] === "sha512" ? ChecksumAlgorithm.SHA512 : ChecksumAlgorithm.SHA256;
      return {
        source: { case: "url", value: { url: match[1], checksum: { algorithm, value: match[3] } } },
      };
    }
  }
  throw new Error(
    `image ${JSON.stringify(ref)} is not template:NAME, path:PATH or url:URL#sha256=HEX (or #sha512=HEX)`,
  );
}
