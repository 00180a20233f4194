import type { ClientHttp2Stream, Http2Session, OutgoingHttpHeaders } from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";
import { widenConnectionWindow } from "../http2-windows.js";

/** Sessions that already carry the guard. */
const guarded = new WeakSet<Http2Session>();

// The error already reached the call through its stream and the manager's
// own listener; this one only keeps Node from rethrowing it.
function ignoreLateError(): void {}

/**
 * Connect's HTTP/2 session manager, with an 'error' listener on every session
 * for as long as the session lives, and each session's connection window
 * widened (see http2-windows.ts).
 *
 * Connect's manager removes its listeners from a session when it moves on to
 * a new one, but Node may emit the session's 'error' later, when the socket
 * has closed. A server that does not speak HTTP/2 (any HTTP/1.1 server)
 * does exactly that: the call fails with "Protocol error", the next call
 * opens a new session, and the old one's 'error' then has no listener and
 * crashes the process. Upstream: connectrpc/connect-es#1768.
 */
export class GuardedSessionManager extends Http2SessionManager {
  override async request(
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    options: Parameters<Http2SessionManager["request"]>[3],
  ): Promise<ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !guarded.has(session)) {
      guarded.add(session);
      session.on("error", ignoreLateError);
      widenConnectionWindow(session);
    }
    return stream;
  }
}
