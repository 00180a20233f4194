import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** Strings longer than this go to TextEncoder, whose per-call cost they amortize. */
const shortString = 64;

const encoder = new TextEncoder();

/**
 * UTF-8 of `text`, the same bytes TextEncoder writes. Protobuf-es encodes
 * every string field with TextEncoder, whose call costs about 870 ns on
 * Node 20 for a short string (measured: a resource name, a condition
 * reason), eight times a JavaScript loop; a manager's status and its RPCs
 * are mostly such strings. Anything not ASCII goes to TextEncoder.
 */
export function encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
  const length = text.length;
  if (length > shortString) return encoder.encode(text);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return encoder.encode(text);
    bytes[i] = code;
  }
  return bytes;
}

/**
 * Whether `text` encodes to UTF-8 without loss (no lone surrogate): what
 * protobuf-es's own check decides by calling encodeURIComponent, which
 * builds a whole escaped string to find out (137 ns against 14).
 */
export function checkUtf8(text: string): boolean {
  return (text as WellFormedString).isWellFormed();
}

/** String.prototype.isWellFormed: ES2024, in Node since 20, past the ES2023 our lib names. */
type WellFormedString = string & { isWellFormed(): boolean };

/**
 * Makes protobuf-es encode strings with `encodeUtf8` and check them with
 * `checkUtf8` in this process (its setting is global); decoding stays
 * TextDecoder's, which is as fast as a loop for short strings. The bytes on
 * the wire do not change. Called by the manager and the provider harness
 * when they start; calling it again changes nothing.
 */
export function useFastTextEncoding(): void {
  const current = getTextEncoding();
  if (current.encodeUtf8 === encodeUtf8) return;
  configureTextEncoding({
    encodeUtf8,
    checkUtf8,
    decodeUtf8: current.decodeUtf8.bind(current),
  });
}
