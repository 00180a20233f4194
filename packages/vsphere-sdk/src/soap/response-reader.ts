import type { MethodFault } from "../gen/vim-types.js";
import { methods } from "../gen/vim-types.js";
import { ValueFrame } from "../vim/value-frame.js";
import { NamespaceScope, namespaces } from "../xml/namespace-scope.js";
import { XmlSyntaxError, XmlTokenizer } from "../xml/xml-tokenizer.js";
import { VimFault, VimProtocolError, toVimFault } from "./faults.js";

/**
 * Reads the answer to one vim25 call as it arrives, chunk by chunk, straight
 * into the decoded value: no text of the whole answer, no tree of the
 * document. `write` each chunk of text in order, then `end`.
 */
export interface ResponseReader {
  /**
   * Reads the next part of the answer.
   *
   * @throws VimProtocolError at the first thing that is not well-formed XML,
   * a DOCTYPE (refused: no SOAP answer has one, and refusing it rules out
   * entity expansion), or a document that is not a SOAP envelope.
   */
  write(chunk: string): void;
  /**
   * Finishes the answer: the decoded return value (undefined for methods
   * without one).
   *
   * @throws VimFault (or a subclass) for a SOAP fault; VimProtocolError for
   * an answer that ends early or is not a SOAP response to the method.
   */
  end(): unknown;
}

/** Where an open element sits in the SOAP answer. */
const enum Place {
  Envelope,
  Body,
  Response,
  Fault,
  FaultCode,
  FaultString,
  Detail,
  Value,
  Skip,
}

function localOf(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}

function prefixOf(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? "" : name.slice(0, colon);
}

/**
 * A reader of the answer to `method`, for an HTTP answer of status `status`
 * (named in errors).
 */
export function createResponseReader(method: string, status: number): ResponseReader {
  const returns = methods[method]?.returns;
  const responseName = `${method}Response`;
  const scope = new NamespaceScope();
  const places: Place[] = [];
  const frames: ValueFrame[] = [];
  /** By depth, the frame of the last element decoded there (closed once a sibling opens). */
  const spares: ValueFrame[] = [];
  const names: string[] = [];
  const returned: unknown[] = [];
  let sawEnvelope = false;
  let sawBody = false;
  let sawResponse = false;
  let sawFault = false;
  let faultCode = "";
  let faultString = "";
  let faultType: string | undefined;
  let faultValue: unknown;
  let failed: VimProtocolError | undefined;

  const protocolError = (message: string, cause?: unknown) =>
    new VimProtocolError(
      `HTTP ${status}: ${message}`,
      status,
      cause === undefined ? undefined : { cause },
    );

  /** The SOAP structure around the values: where an element opens outside any value. */
  function placeOf(
    parent: Place | undefined,
    name: string,
    local: string,
    xsiType: string | undefined,
    typeAttr: string | undefined,
  ): [Place, ValueFrame] {
    const inNamespace = (uri: string) => scope.resolve(prefixOf(name)) === uri;
    switch (parent) {
      case undefined:
        if (local !== "Envelope" || !inNamespace(namespaces.soapEnvelope)) {
          throw protocolError("the answer is not a SOAP envelope");
        }
        sawEnvelope = true;
        return [Place.Envelope, ValueFrame.skip];
      case Place.Envelope:
        if (local === "Body" && inNamespace(namespaces.soapEnvelope)) {
          sawBody = true;
          return [Place.Body, ValueFrame.skip];
        }
        break;
      case Place.Body:
        if (local === responseName && inNamespace(namespaces.vim25)) {
          sawResponse = true;
          return [Place.Response, ValueFrame.skip];
        }
        if (local === "Fault" && inNamespace(namespaces.soapEnvelope)) {
          sawFault = true;
          return [Place.Fault, ValueFrame.skip];
        }
        break;
      case Place.Response:
        if (local === "returnval" && returns) {
          return [Place.Value, ValueFrame.of(returns[0], xsiType, typeAttr)];
        }
        break;
      case Place.Fault:
        if (local === "faultcode") return [Place.FaultCode, ValueFrame.skip];
        if (local === "faultstring") return [Place.FaultString, ValueFrame.skip];
        if (local === "detail") return [Place.Detail, ValueFrame.skip];
        break;
      case Place.Detail:
        // vCenter names the element <TypeFault> and sets xsi:type="Type".
        if (faultType === undefined) {
          faultType = xsiType ?? local.replace(/Fault$/, "");
          return [Place.Value, ValueFrame.of(faultType, undefined, typeAttr)];
        }
        break;
      default:
        break;
    }
    return [Place.Skip, ValueFrame.skip];
  }

  // An element's attributes, as they are read (before its opentag): no
  // enumeration of an attribute object for the many elements without any.
  let typeAttr: string | undefined;
  let qualifiedType: string | undefined;
  let qualifiedTypeValue: string | undefined;
  const attribute = (key: string, value: string) => {
    if (key === "type") typeAttr = value;
    else if (key.startsWith("xmlns")) {
      if (key.length === 5) scope.declare("", value, places.length);
      else if (key.charCodeAt(5) === 58 /* : */) scope.declare(key.slice(6), value, places.length);
    } else if (key.endsWith(":type")) {
      qualifiedType = key;
      qualifiedTypeValue = value;
    }
  };

  const openTag = (name: string) => {
    const depth = places.length;
    const parent = depth === 0 ? undefined : places[depth - 1];
    const local = localOf(name);
    const parentFrame = frames[depth - 1];
    const ownTypeAttr = typeAttr;
    const ownQualifiedType = qualifiedType;
    typeAttr = qualifiedType = undefined;
    if (parent === Place.Skip || (parent === Place.Value && parentFrame!.skipped)) {
      // Nothing in a skipped element matters.
      places.push(Place.Skip);
      frames.push(ValueFrame.skip);
      names.push(local);
      return;
    }
    let xsiType: string | undefined;
    if (ownQualifiedType !== undefined) {
      const prefix = prefixOf(ownQualifiedType);
      const uri = scope.resolve(prefix);
      if (uri === undefined) throw protocolError(`the prefix ${prefix} is not declared`);
      if (uri === namespaces.xsi) xsiType = localOf(qualifiedTypeValue!);
    }
    if (parent === Place.Value) {
      // The frame of this depth's previous element is done with: reused.
      const frame = parentFrame!.child(local, xsiType, ownTypeAttr, spares[depth]);
      if (!frame.skipped) spares[depth] = frame;
      places.push(Place.Value);
      frames.push(frame);
    } else {
      const [place, frame] = placeOf(parent, name, local, xsiType, ownTypeAttr);
      places.push(place);
      frames.push(frame);
    }
    names.push(local);
  };

  const text = (text: string) => {
    switch (places[places.length - 1]) {
      case Place.Value: {
        const frame = frames[frames.length - 1]!;
        if (frame.keepsText) frame.text += text;
        return;
      }
      case Place.FaultCode:
        faultCode += text;
        return;
      case Place.FaultString:
        faultString += text;
        return;
      default:
        return;
    }
  };
  const closeTag = () => {
    const place = places.pop();
    const frame = frames.pop()!;
    const local = names.pop()!;
    const depth = places.length;
    scope.close(depth);
    if (place !== Place.Value || frame.skipped) return;
    const value = frame.value();
    switch (places[depth - 1]) {
      case Place.Value:
        frames[depth - 1]!.add(local, frame, value);
        return;
      case Place.Response:
        returned.push(value);
        return;
      case Place.Detail:
        faultValue = value;
        return;
      default:
        return;
    }
  };

  const tokenizer = new XmlTokenizer({
    attribute,
    openTag,
    closeTag,
    text,
    doctype() {
      throw protocolError("the answer has a DOCTYPE, which is refused");
    },
  });

  const guarded = (work: () => void) => {
    if (failed !== undefined) throw failed;
    try {
      work();
    } catch (err) {
      failed =
        err instanceof VimProtocolError
          ? err
          : err instanceof XmlSyntaxError
            ? protocolError(`the answer is not well-formed XML: ${err.message}`)
            : protocolError(`the answer could not be read: ${(err as Error).message}`, err);
      throw failed;
    }
  };

  return {
    write(chunk) {
      guarded(() => tokenizer.write(chunk));
    },
    end() {
      guarded(() => tokenizer.close());
      if (!sawEnvelope || !sawBody) throw protocolError("the answer is not a SOAP envelope");
      if (sawFault) {
        if (faultType !== undefined) {
          // A fault of a type the SDK does not know, with only text, has no fields.
          const fields = typeof faultValue === "object" ? (faultValue as MethodFault) : {};
          throw toVimFault(faultType, faultString, { ...fields, _type: faultType });
        }
        throw new VimFault(localOf(faultCode) || "ServerFaultCode", faultString, {
          _type: "MethodFault",
        });
      }
      if (!sawResponse) throw protocolError(`no ${responseName} in the answer`);
      if (!returns) return undefined;
      return returns[1] ? returned : returned[0];
    },
  };
}
