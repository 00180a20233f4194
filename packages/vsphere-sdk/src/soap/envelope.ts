import type { ManagedObjectReference, MethodFault } from "../gen/vim-types.js";
import { methods } from "../gen/vim-types.js";
import { decodeElement } from "../vim/decode.js";
import { encodeElement } from "../vim/encode.js";
import {
  type XmlNode,
  childElements,
  children,
  localName,
  parseXml,
  textOf,
  xsiTypeOf,
} from "../xml/parse.js";
import { VimFault, VimProtocolError, toVimFault } from "./faults.js";

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

function bodyOf(text: string, status: number): XmlNode {
  let document;
  try {
    document = parseXml(text);
  } catch (err) {
    throw new VimProtocolError(`HTTP ${status}: the answer is not XML`, status, { cause: err });
  }
  const [envelope] = children(document, "Envelope");
  const [body] = children(envelope, "Body");
  if (body === undefined) {
    throw new VimProtocolError(`HTTP ${status}: the answer is not a SOAP envelope`, status);
  }
  return body;
}

/**
 * Reads a SOAP fault element into the typed error of its vim25 fault, or a
 * plain VimFault named after the fault code when it carries no detail.
 */
export function decodeFault(fault: XmlNode): VimFault {
  const message = textOf(children(fault, "faultstring")[0] ?? "");
  const [detail] = children(fault, "detail");
  const [first] = detail === undefined ? [] : childElements(detail);
  if (first) {
    const [name, [node]] = first;
    if (node !== undefined) {
      // vCenter names the element <TypeFault> and sets xsi:type="Type".
      const type = xsiTypeOf(node) ?? localName(name).replace(/Fault$/, "");
      const decoded = decodeElement(node, type) as MethodFault;
      return toVimFault(type, message, { ...decoded, _type: type });
    }
  }
  const code = localName(textOf(children(fault, "faultcode")[0] ?? "")) || "ServerFaultCode";
  return new VimFault(code, message, { _type: "MethodFault" });
}

/**
 * Reads the answer of a vim25 call: the decoded return value (undefined for
 * methods without one), or the typed error of its SOAP fault.
 *
 * @throws VimFault (or a subclass) for a SOAP fault; VimProtocolError when
 * the answer is not a SOAP response.
 */
export function readResponse(method: string, text: string, status: number): unknown {
  const body = bodyOf(text, status);
  const [fault] = children(body, "Fault");
  if (fault !== undefined) throw decodeFault(fault);
  const [response] = children(body, `${method}Response`);
  if (response === undefined) {
    throw new VimProtocolError(`HTTP ${status}: no ${method}Response in the answer`, status);
  }
  const returns = methods[method]?.returns;
  if (!returns) return undefined;
  const [type, array] = returns;
  const values = children(response, "returnval").map((node) => decodeElement(node, type));
  return array ? values : values[0];
}
