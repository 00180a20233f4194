import type { Http2Session } from "node:http2";

/**
 * HTTP/2 flow-control windows for our RPCs, on both ends.
 *
 * Node's default is 64 KiB per stream and per connection: a 2 MiB disk
 * chunk then needs about 32 WINDOW_UPDATE round trips through both event
 * loops. A stream window of 4 MiB (readMaxBytes' default, the largest
 * message a server reads by default) lets one chunk and its envelope
 * travel in one flight; the connection window lets the copier's 4 chunks
 * in flight travel together, with room to spare. The window is what a peer
 * may send before we read it, so it is memory we may hold per stream; a
 * request still fails past readMaxBytes and connections stay capped by
 * maxConnections.
 */
export const streamWindowBytes = 4 * 2 ** 20;

/** The connection's window: the stream windows of the copier's chunks in flight, with room. */
export const connectionWindowBytes = 32 * 2 ** 20;

/** The settings that announce `streamWindowBytes` to the peer. */
export const http2WindowSettings = { initialWindowSize: streamWindowBytes } as const;

/** Widens the connection-level window, which SETTINGS cannot change, once the session is up. */
export function widenConnectionWindow(session: Http2Session): void {
  if (session.destroyed || session.closed) return;
  session.setLocalWindowSize(connectionWindowBytes);
}
