import { promisify } from "node:util";
import {
  type InputType,
  type ZlibOptions,
  brotliCompress,
  brotliDecompress,
  gunzip,
  gzip,
} from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";

type Zlib = (input: InputType, options: ZlibOptions) => Promise<Buffer>;

/**
 * A decompression failure as Connect's codes have it. connect-node's own
 * mapping tells them apart with `instanceof Error`, which Node's internal
 * errors fail in a vm context (a test runner), making a body that inflates
 * past the limit or is not gzip at all look like the server's failure.
 */
function decompressionError(err: unknown, readMaxBytes: number): ConnectError {
  const raw = (err as { code?: unknown } | null)?.code;
  const code = typeof raw === "string" ? raw : "";
  if (code === "ERR_BUFFER_TOO_LARGE")
    return new ConnectError(
      `message is larger than configured readMaxBytes ${readMaxBytes} after decompression`,
      Code.ResourceExhausted,
      undefined,
      undefined,
      err,
    );
  // zlib's own codes (Z_DATA_ERROR, Z_BUF_ERROR for a cut body, ...) say the input is bad.
  const badInput = code.startsWith("Z_") || code.startsWith("ERR__ERROR_FORMAT_");
  return new ConnectError(
    badInput ? "the request body does not decompress" : "decompression failed",
    badInput ? Code.InvalidArgument : Code.Internal,
    undefined,
    undefined,
    err,
  );
}

/** The bytes of a Buffer, without a copy. */
function view(buffer: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength);
}

function compression(name: string, compress: Zlib, decompress: Zlib): Compression {
  return {
    name,
    async compress(bytes) {
      return view(await compress(bytes, {}));
    },
    async decompress(bytes, readMaxBytes) {
      if (bytes.length === 0) return new Uint8Array(0);
      try {
        // zlib stops inflating at maxOutputLength: a bomb never takes more.
        return view(await decompress(bytes, { maxOutputLength: readMaxBytes }));
      } catch (err) {
        throw decompressionError(err, readMaxBytes);
      }
    },
  };
}

/** gzip for requests and responses, bounded by readMaxBytes once inflated. */
export const serverGzip = compression("gzip", promisify(gzip), promisify(gunzip));

/** Brotli, likewise. */
export const serverBrotli = compression(
  "br",
  promisify(brotliCompress),
  promisify(brotliDecompress),
);
