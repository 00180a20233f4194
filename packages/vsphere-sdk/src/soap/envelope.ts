import type { ManagedObjectReference } from "../gen/vim-types.js";
import { methods } from "../gen/vim-types.js";
import { encodeElement } from "../vim/encode.js";
import { createResponseReader } from "./response-reader.js";

const envelopeStart =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"' +
  ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"' +
  ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
  "<soapenv:Body>";
const envelopeEnd = "</soapenv:Body></soapenv:Envelope>";

/**
 * Builds the SOAP envelope of a vim25 call: the method element, `_this`,
 * then the arguments in the method's parameter order, each encoded by its
 * declared type with every string escaped.
 *
 * @throws TypeError for a method outside the SDK's subset, an unknown
 * argument, or an argument that does not fit its type.
 */
export function buildEnvelope(
  method: string,
  self: ManagedObjectReference,
  args: Record<string, unknown> = {},
): string {
  const info = methods[method];
  if (!info) throw new TypeError(`${method} is not in the SDK's vim25 subset`);
  const known = new Set(info.params.map(([name]) => name));
  for (const key of Object.keys(args)) {
    if (!known.has(key) && args[key] !== undefined) {
      throw new TypeError(`${method} has no parameter ${key}`);
    }
  }
  const out: string[] = [envelopeStart, `<${method} xmlns="urn:vim25">`];
  encodeElement(out, "_this", self, "ManagedObjectReference");
  for (const [name, type, array] of info.params) {
    encodeElement(out, name, args[name], type, array, `${method}.${name}`);
  }
  out.push(`</${method}>`, envelopeEnd);
  return out.join("");
}

/**
 * Reads the whole answer of a vim25 call, already in hand as text: the
 * decoded return value (undefined for methods without one), or the typed
 * error of its SOAP fault. The client reads answers as they arrive instead
 * (`createResponseReader`).
 *
 * @throws VimFault (or a subclass) for a SOAP fault; VimProtocolError when
 * the answer is not well-formed XML or not a SOAP response.
 */
export function readResponse(method: string, text: string, status: number): unknown {
  const reader = createResponseReader(method, status);
  reader.write(text);
  return reader.end();
}
