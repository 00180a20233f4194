import type { Response } from "undici";
import { VimProtocolError } from "../soap/faults.js";
import { createResponseReader } from "../soap/response-reader.js";

/**
 * Reads a vim25 answer as it arrives: each chunk of the body is decoded
 * (UTF-8, refusing invalid bytes) and fed to the response reader, so neither
 * the answer's text nor a tree of it is ever held whole. A malformed answer
 * stops the reading at once (the rest of the body is discarded).
 *
 * @throws VimFault (or a subclass) for a SOAP fault; VimProtocolError for an
 * answer that is not a SOAP response; the body's error when the connection
 * fails while reading.
 */
export async function readAnswer(method: string, response: Response): Promise<unknown> {
  const reader = createResponseReader(method, response.status);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const decode = (chunk?: Uint8Array) => {
    try {
      return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch (err) {
      throw new VimProtocolError(
        `HTTP ${response.status}: the answer is not valid UTF-8`,
        response.status,
        { cause: err },
      );
    }
  };
  if (response.body) {
    // Leaving the loop early (a malformed answer) cancels the body.
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      reader.write(decode(chunk));
    }
  }
  reader.write(decode());
  return reader.end();
}
