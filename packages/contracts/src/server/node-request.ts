import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { type Http2ServerRequest, constants } from "node:http2";
import { Code, type ContextValues, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest } from "@connectrpc/connect-node";
import type { NodeResponse } from "./write-response.js";

/** Why an HTTP/2 stream the client reset ends its call, as connect-node words it. */
const resetCodes = new Map<number, Code>([
  [constants.NGHTTP2_PROTOCOL_ERROR, Code.Internal],
  [constants.NGHTTP2_INTERNAL_ERROR, Code.Internal],
  [constants.NGHTTP2_FLOW_CONTROL_ERROR, Code.Internal],
  [constants.NGHTTP2_SETTINGS_TIMEOUT, Code.Internal],
  [constants.NGHTTP2_FRAME_SIZE_ERROR, Code.Internal],
  [constants.NGHTTP2_COMPRESSION_ERROR, Code.Internal],
  [constants.NGHTTP2_CONNECT_ERROR, Code.Internal],
  [constants.NGHTTP2_REFUSED_STREAM, Code.Unavailable],
  [constants.NGHTTP2_CANCEL, Code.Canceled],
  [constants.NGHTTP2_ENHANCE_YOUR_CALM, Code.ResourceExhausted],
  [constants.NGHTTP2_INADEQUATE_SECURITY, Code.PermissionDenied],
  [constants.NGHTTP2_HTTP_1_1_REQUIRED, Code.PermissionDenied],
]);
const resetNames = new Map(
  Object.entries(constants)
    .filter(([name]) => name.startsWith("NGHTTP2_") && !name.startsWith("NGHTTP2_ERR_"))
    .map(([name, value]) => [value, name.slice("NGHTTP2_".length)] as const),
);

function resetError(rstCode: number): ConnectError | undefined {
  const code = resetCodes.get(rstCode);
  if (code === undefined) return undefined;
  const name = resetNames.get(rstCode) ?? "UNKNOWN";
  return new ConnectError(
    `http/2 stream closed with error code ${name} (0x${rstCode.toString(16)})`,
    code,
  );
}

/** Node's request headers as fetch Headers, HTTP/2 pseudo-headers left out. */
function webHeaders(nodeHeaders: IncomingHttpHeaders): Headers {
  const header = new Headers();
  for (const key in nodeHeaders) {
    if (key.startsWith(":")) continue;
    const value = nodeHeaders[key];
    if (typeof value === "string") header.append(key, value);
    else if (value !== undefined) for (const item of value) header.append(key, item);
  }
  return header;
}

/** The signals of the calls in flight, so that a server giving up on its drain aborts them all. */
export interface CallSignals {
  /**
   * A controller for a new call's signal, aborted by `abortAll` until it is
   * closed; already aborted once `abortAll` has run.
   */
  open(): AbortController;
  /** Forgets a call's controller: the call is over, or its stream has closed. */
  close(controller: AbortController): void;
  /** Aborts every open call's signal with `reason`, and every later one. */
  abortAll(reason: unknown): void;
}

/**
 * One listener on the server's shutdown for all calls, not one per call:
 * a signal's listeners are a list that each call's would walk to add and
 * remove its own, at every call in flight a step.
 */
export function createCallSignals(): CallSignals {
  const open = new Set<AbortController>();
  let aborted: { reason: unknown } | undefined;
  return {
    open() {
      const controller = new AbortController();
      if (aborted) controller.abort(aborted.reason);
      else open.add(controller);
      return controller;
    },
    close(controller) {
      open.delete(controller);
    },
    abortAll(reason) {
      aborted ??= { reason };
      for (const controller of open) controller.abort(reason);
      open.clear();
    },
  };
}

/** A call's universal request, and `settled` to say when its response is done with. */
export interface NodeCall {
  request: UniversalServerRequest;
  /** The response has been written or given up: the stream's close no longer concerns the call. */
  settled: () => void;
}

/** A call's controller from `signals`, and whether the call has settled. */
function openCall(signals: CallSignals) {
  const controller = signals.open();
  const call = {
    controller,
    over: false,
    settled: () => {
      call.over = true;
      signals.close(controller);
    },
  };
  return call;
}

/** An HTTP/2 request: its signal aborted when the stream closes while the call still runs. */
function http2CallOf(
  request: Http2ServerRequest,
  contextValues: ContextValues,
  signals: CallSignals,
): NodeCall {
  if (request.authority === undefined) {
    throw new ConnectError(
      "unable to determine request authority from Node.js server request",
      Code.Internal,
    );
  }
  const call = openCall(signals);
  request.once("close", () => {
    signals.close(call.controller);
    if (call.over) return;
    const reason = resetError(request.stream.rstCode ?? constants.NGHTTP2_NO_ERROR);
    if (reason) call.controller.abort(reason);
    else call.controller.abort();
  });
  const scheme = "encrypted" in request.socket && request.socket.encrypted ? "https" : "http";
  return {
    request: {
      httpVersion: request.httpVersion,
      method: request.method,
      url: new URL(request.url, `${scheme}://${request.authority}`).toString(),
      header: webHeaders(request.headers),
      body: request,
      signal: call.controller.signal,
      contextValues,
    },
    settled: call.settled,
  };
}

/** An HTTP/1.1 request: connect-node's universal request, its signal relayed to ours. */
function http1CallOf(
  request: IncomingMessage,
  response: NodeResponse,
  contextValues: ContextValues,
  signals: CallSignals,
): NodeCall {
  // Made first: a request it refuses (no Host) leaves no controller open.
  const universal = universalRequestFromNodeRequest(request, response, undefined, contextValues);
  const call = openCall(signals);
  universal.signal.addEventListener("abort", () => call.controller.abort(universal.signal.reason), {
    once: true,
  });
  return { request: { ...universal, signal: call.controller.signal }, settled: call.settled };
}

/**
 * The universal request of a Node request, as connect-node's
 * `universalRequestFromNodeRequest` makes it, but with its signal from
 * `signals`, and aborted when an HTTP/2 stream closes only while the call
 * still runs: at the close that follows every answered call nobody listens,
 * and an abort without a reason costs a DOMException and its stack. An
 * HTTP/2 request's body is the request itself. An HTTP/1.1 request takes
 * connect-node's own, its signal relayed.
 *
 * @throws ConnectError INTERNAL when the request names no authority.
 */
export function nodeCallOf(
  request: IncomingMessage | Http2ServerRequest,
  response: NodeResponse,
  contextValues: ContextValues,
  signals: CallSignals,
): NodeCall {
  return "stream" in request
    ? http2CallOf(request, contextValues, signals)
    : http1CallOf(request, response, contextValues, signals);
}
