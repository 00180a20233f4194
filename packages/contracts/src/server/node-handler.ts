import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { TLSSocket } from "node:tls";
import {
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createConnectRouter,
  createContextValues,
} from "@connectrpc/connect";
import { universalRequestFromNodeRequest } from "@connectrpc/connect-node";
import type { Logger } from "../logging/create-logger.js";
import { peerCertificateKey } from "./call-context.js";
import { serverBrotli, serverGzip } from "./compression.js";
import { withReadFailuresMapped } from "./request-errors.js";
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
}

/**
 * A call's context values, with its connection's verified client
 * certificate when there is one (mutual TLS), for guards and handlers that
 * authenticate callers by it. HTTP/2 requests' socket forwards to the
 * session's TLS socket.
 */
function contextValuesOf(request: IncomingMessage | Http2ServerRequest): ContextValues {
  const values = createContextValues();
  const socket = request.socket as Partial<TLSSocket> | undefined;
  if (socket?.encrypted && socket.authorized && typeof socket.getPeerCertificate === "function") {
    values.set(peerCertificateKey, () => {
      const certificate = (socket as TLSSocket).getPeerCertificate();
      // An empty object when the client sent none.
      return certificate.subject ? certificate : undefined;
    });
  }
  return values;
}

/**
 * Serves a Connect router to Node's servers, as connect-node's
 * `connectNodeAdapter` does, but: a response that cannot be written (the
 * client has gone, or stopped reading for `writeTimeoutMs`) ends its call
 * and is reported to the service's logger rather than console.error, a
 * request Connect cannot read is refused as INVALID_SPEC, and a compressed
 * one inflates no further than readMaxBytes, and a verified client
 * certificate is in the call's context values (`peerCertificateKey`).
 */
export function createNodeHandler(
  routes: (router: ConnectRouter) => void,
  options: ConnectRouterOptions & NodeHandlerOptions,
  logger: Logger,
): NodeHandler {
  const { writeTimeoutMs, ...routerOptions } = options;
  const router = createConnectRouter({
    acceptCompression: [serverGzip, serverBrotli],
    ...routerOptions,
  });
  routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (request, response) => {
    const handler = handlers.get((request.url ?? "").split("?", 1)[0] ?? "");
    if (!handler) {
      response.writeHead(404).end();
      return;
    }
    const nodeResponse: NodeResponse = response;
    watchClose(nodeResponse);
    handler(
      universalRequestFromNodeRequest(request, nodeResponse, undefined, contextValuesOf(request)),
    )
      .then((universal) => withReadFailuresMapped(universal, handler.method.input))
      .then((universal) => writeResponse(universal, nodeResponse, writeTimeoutMs))
      .catch((err: unknown) => {
        if (err instanceof ResponseNotDelivered && err.stalled) {
          logger.info({ rpc: handler.method.name, reason: err.message }, "response abandoned");
        } else {
          logger.debug(
            { err, rpc: handler.method.name },
            "response not delivered: the client went away",
          );
        }
      });
  };
}
