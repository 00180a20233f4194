import type { Readable } from "node:stream";
import { VimProtocolError } from "../soap/faults.js";
import { createResponseReader } from "../soap/response-reader.js";

const streaming = { stream: true } as const;

/**
 * Reads a vim25 answer of HTTP status `status` from its `body` as it arrives:
 * each chunk is decoded (UTF-8, refusing invalid bytes) and fed to the
 * response reader, so neither the answer's text nor a tree of it is ever
 * held whole. The body is read through its `data` events, with no stream
 * adapter between the socket and the reader. A malformed answer stops the
 * reading at once (the body is destroyed, the rest discarded).
 *
 * @throws VimFault (or a subclass) for a SOAP fault; VimProtocolError for an
 * answer that is not a SOAP response; the body's error when the connection
 * fails while reading.
 */
export function readAnswer(method: string, status: number, body: Readable): Promise<unknown> {
  const reader = createResponseReader(method, status);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const decode = (chunk?: Uint8Array) => {
    try {
      return chunk ? decoder.decode(chunk, streaming) : decoder.decode();
    } catch (err) {
      throw new VimProtocolError(`HTTP ${status}: the answer is not valid UTF-8`, status, {
        cause: err,
      });
    }
  };
  return new Promise((resolve, reject) => {
    // What the reader throws is always an Error (VimFault, VimProtocolError).
    const settleWith = (err: Error) => reject(err);
    const fail = (err: Error) => {
      body.off("data", onData);
      body.destroy();
      settleWith(err);
    };
    const onData = (chunk: Uint8Array) => {
      try {
        reader.write(decode(chunk));
      } catch (err) {
        fail(err as Error);
      }
    };
    body.on("data", onData);
    body.once("error", fail);
    body.once("end", () => {
      try {
        reader.write(decode());
        resolve(reader.end());
      } catch (err) {
        settleWith(err as Error);
      }
    });
  });
}
