import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
  createContextValues,
} from "@connectrpc/connect";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { Logger } from "../logging/create-logger.js";
import { serverBrotli, serverGzip } from "./compression.js";
import { createCallSignals, nodeCallOf } from "./node-request.js";
import { Peer, peerKey } from "./peer.js";
import { withReadFailuresMapped } from "./request-errors.js";
import { carriesBytes, refuseResponseCompression } from "./uncompressed-responses.js";
import {
  type NodeResponse,
  ResponseNotDelivered,
  watchClose,
  writeResponse,
} from "./write-response.js";

/** A request listener for Node's http and http2 servers alike. */
export type NodeHandler = (
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
) => void;

/** Options of `createNodeHandler`, besides the router's. */
export interface NodeHandlerOptions {
  /** A response whose client reads nothing for this long is abandoned. */
  writeTimeoutMs: number;
  /** Answers requests for paths no RPC has (a web app's files); default 404. */
  otherRequests?: NodeHandler | undefined;
}

/**
 * Serves a Connect router to Node's servers, as connect-node's
 * `connectNodeAdapter` does, but: a response that cannot be written (the
 * client has gone, or stopped reading for `writeTimeoutMs`) ends its call
 * and is reported to the service's logger rather than console.error, a
 * request Connect cannot read is refused as INVALID_SPEC, a compressed
 * one inflates no further than readMaxBytes, and a response carrying bytes
 * (disk chunks, ciphertext) is never compressed. Each call's context holds its
 * Peer (`peerKey`: the client's address and verified certificate). The
 * router's `shutdownSignal` aborts the signals of the calls in flight from
 * one listener (see `createCallSignals`).
 */
export function createNodeHandler(
  routes: (router: ConnectRouter) => void,
  options: ConnectRouterOptions & NodeHandlerOptions,
  logger: Logger,
): NodeHandler {
  const { writeTimeoutMs, shutdownSignal, otherRequests, ...routerOptions } = options;
  const signals = createCallSignals();
  if (shutdownSignal?.aborted) signals.abortAll(shutdownSignal.reason);
  shutdownSignal?.addEventListener("abort", () => signals.abortAll(shutdownSignal.reason), {
    once: true,
  });
  const router = createConnectRouter({
    acceptCompression: [serverGzip, serverBrotli],
    ...routerOptions,
  });
  routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const uncompressed = new Set(
    router.handlers.filter((h) => carriesBytes(h.method.output)).map((h) => h.requestPath),
  );
  return (request, response) => {
    const handler = handlers.get((request.url ?? "").split("?", 1)[0] ?? "");
    if (!handler) {
      if (otherRequests) otherRequests(request, response);
      else response.writeHead(404).end();
      return;
    }
    if (uncompressed.has(handler.requestPath)) refuseResponseCompression(request.headers);
    const nodeResponse: NodeResponse = response;
    watchClose(nodeResponse);
    // The peer rides in the call's context: access rules and audit records read it.
    const contextValues = createContextValues().set(peerKey, new Peer(request.socket));
    const call = nodeCallOf(request, nodeResponse, contextValues, signals);
    const write = (universal: UniversalServerResponse) =>
      writeResponse(universal, nodeResponse, writeTimeoutMs);
    handler(call.request)
      .then((universal) => {
        // Mapped in place for most responses: no promise hop of its own.
        const mapped = withReadFailuresMapped(universal, handler.method.input);
        return mapped instanceof Promise ? mapped.then(write) : write(mapped);
      })
      .then(
        () => call.settled(),
        (err: unknown) => {
          call.settled();
          if (err instanceof ResponseNotDelivered && err.stalled) {
            logger.info({ rpc: handler.method.name, reason: err.message }, "response abandoned");
          } else {
            logger.debug(
              { err, rpc: handler.method.name },
              "response not delivered: the client went away",
            );
          }
        },
      );
  };
}
