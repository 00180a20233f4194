import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import {
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
} from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "../logging/create-logger.js";

/** A request listener for Node's http and http2 servers alike. */
export type NodeHandler = (
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
) => void;

type NodeResponse = Parameters<typeof universalResponseToNodeResponse>[1];

/**
 * Serves a Connect router to Node's servers, as connect-node's
 * `connectNodeAdapter` does, but reports a response that cannot be written
 * (the client has gone) to the service's logger rather than console.error.
 */
export function createNodeHandler(
  routes: (router: ConnectRouter) => void,
  options: ConnectRouterOptions,
  logger: Logger,
): NodeHandler {
  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    ...options,
  });
  routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (request, response) => {
    const handler = handlers.get((request.url ?? "").split("?", 1)[0] ?? "");
    if (!handler) {
      response.writeHead(404).end();
      return;
    }
    const nodeResponse = response as NodeResponse;
    handler(universalRequestFromNodeRequest(request, nodeResponse, undefined, undefined))
      .then((universal) => universalResponseToNodeResponse(universal, nodeResponse))
      .catch((err: unknown) => {
        logger.debug(
          { err, rpc: handler.method.name },
          "response not delivered: the client went away",
        );
      });
  };
}
