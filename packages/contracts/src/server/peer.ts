import type { Socket } from "node:net";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { type ContextValues, createContextKey } from "@connectrpc/connect";

/**
 * The other end of a call's connection, as the server saw it: for access
 * rules (the client certificate under mutual TLS) and for records of who
 * called from where (an audit log).
 */
export class Peer {
  constructor(private readonly socket: Socket) {}

  /** The client's address ("127.0.0.1", "::1"); empty once the socket has closed. */
  get address(): string {
    return this.socket.remoteAddress ?? "";
  }

  /**
   * The client certificate of the connection, verified by mutual TLS
   * against the server's client CA; undefined in plaintext, under
   * server-only TLS, or when it did not verify. Decoded only when asked.
   * (An HTTP/2 request's socket forwards to its session's TLS socket.)
   */
  get certificate(): PeerCertificate | undefined {
    const tls = this.socket as Partial<TLSSocket>;
    if (!tls.encrypted || !tls.authorized || typeof tls.getPeerCertificate !== "function")
      return undefined;
    const certificate = tls.getPeerCertificate();
    // An empty object when the client sent none.
    return certificate.subject ? certificate : undefined;
  }
}

/** Where the harness keeps the Peer of a call. */
export const peerKey = createContextKey<Peer | undefined>(undefined, {
  description: "virtrigaud call peer",
});

/** The Peer of a call, from its context values (a handler's, a guard's or an observer's request). */
export function peerOf(contextValues: ContextValues): Peer | undefined {
  return contextValues.get(peerKey);
}
