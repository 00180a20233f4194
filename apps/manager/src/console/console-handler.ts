import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { NodeHandler } from "@virtrigaud/contracts/server";
import Negotiator from "negotiator";
import type { ConsoleFile, ConsoleFiles } from "./console-files.js";
import { routeConsoleRequest } from "./console-route.js";

/**
 * The console's pages load only what the manager serves, and talk only to it
 * and to `connectSources` (the OIDC issuer's origin, when there is one).
 */
function securityHeadersOf(connectSources: readonly string[]) {
  return {
    "content-security-policy": [
      "default-src 'self'",
      `connect-src ${["'self'", ...connectSources].join(" ")}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

/** Whether Accept-Encoding takes gzip: named or `*`, and not refused with q=0. */
function acceptsGzip(request: IncomingMessage | Http2ServerRequest): boolean {
  return new Negotiator(request).encodings(["gzip"]).includes("gzip");
}

function fileHeaders(
  securityHeaders: Record<string, string>,
  file: ConsoleFile,
  gzip: boolean,
  length: number,
) {
  return {
    ...securityHeaders,
    "content-type": file.contentType,
    "cache-control": file.cacheControl,
    "content-length": String(length),
    ...(file.gzipped ? { vary: "accept-encoding" } : {}),
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  };
}

/**
 * Serves the console's files (see `routeConsoleRequest`) on the API's port,
 * for HTTP/1.1 and HTTP/2 alike; anything else there is 404, as before.
 * `connectSources` are the origins besides its own the console may fetch from.
 */
export function createConsoleHandler(
  files: ConsoleFiles,
  connectSources: readonly string[] = [],
): NodeHandler {
  const securityHeaders = securityHeadersOf(connectSources);
  return (request, response) => {
    const answer = routeConsoleRequest(request.method ?? "", request.url ?? "", files);
    switch (answer.kind) {
      case "redirect":
        response.writeHead(301, { location: answer.location }).end();
        return;
      case "method-not-allowed":
        response.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      case "not-found":
        response.writeHead(404).end();
        return;
      case "file": {
        const gzip = Boolean(answer.file.gzipped) && acceptsGzip(request);
        const body = gzip ? (answer.file.gzipped as Buffer) : answer.file.body;
        response.writeHead(200, fileHeaders(securityHeaders, answer.file, gzip, body.length));
        if (request.method === "HEAD") response.end();
        else response.end(body);
        return;
      }
    }
  };
}
