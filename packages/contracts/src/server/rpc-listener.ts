import { type IncomingMessage, createServer as createHttp1Server } from "node:http";
import {
  constants,
  type IncomingHttpHeaders,
  type Http2SecureServer,
  type Http2Server,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  createSecureServer,
  createServer as createHttp2Server,
} from "node:http2";
import {
  type AddressInfo,
  type Server as NetServer,
  type Socket,
  createServer as createNetServer,
} from "node:net";
import type { Duplex } from "node:stream";
import type { SecureContextOptions, TLSSocket } from "node:tls";
import { http2WindowSettings, widenConnectionWindow } from "../http2-windows.js";
import type { NodeHandler } from "./node-handler.js";
import { createRequestDeadlines } from "./request-deadlines.js";

/** What one connection may hold, and for how long (see ServeOptions for each). */
export interface ConnectionLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
}

/** Where and how to listen for RPCs. */
export interface RpcListenOptions {
  host: string;
  port: number;
  /** TLS material; undefined serves plaintext. */
  tls: SecureContextOptions | undefined;
  /** Require and verify client certificates against `tls.ca` (mutual TLS). */
  requireClientCertificate: boolean;
  limits: ConnectionLimits;
  /** Called for each connection closed on arrival because `maxConnections` are open. */
  onRefused?: () => void;
  /** Called for each TLS handshake refused, with the client's address and why. */
  onHandshakeRefused?: (address: string, reason: string) => void;
  /**
   * Paths of RPCs whose request body stays open for the call's life (streams
   * both ways, such as a console): the request timeout does not apply to them.
   */
  openRequestPaths?: ReadonlySet<string>;
  /** Takes HTTP/1.1 Upgrade requests (WebSockets); without it they are refused. */
  upgrade?: UpgradeHandler;
}

/** Takes an HTTP/1.1 Upgrade request and its socket, as Node's "upgrade" event gives them. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The socket RPCs are served on. */
export interface RpcListener {
  readonly address: AddressInfo;
  /** Replaces the TLS material for new connections. */
  setSecureContext(options: SecureContextOptions): void;
  /**
   * Stops accepting connections and closes idle HTTP/1.1 ones. Open HTTP/2
   * connections stay until `close`: a GOAWAY sent while a response is being
   * finished makes Node's HTTP/2 client see that stream cancelled, so calls
   * arriving meanwhile are refused by the server instead (UNAVAILABLE).
   */
  stopAccepting(): void;
  /**
   * Resolves when every response begun has been sent, or after `timeoutMs`.
   * A call's handler returns before its response has left the socket.
   */
  responsesSent(timeoutMs: number): Promise<void>;
  /**
   * Closes every connection once what was written to it has left: HTTP/2
   * sessions get a GOAWAY naming the last stream they accepted and close,
   * flushing their last frames; HTTP/1.1 connections end. Whatever is still
   * open after `timeoutMs` is destroyed.
   */
  close(timeoutMs: number): Promise<void>;
  /** Closes every connection now, dropping what has not been sent. */
  destroy(): void;
}

// The first bytes of the HTTP/2 connection preface ("PRI * HTTP/2.0...").
const preface = Buffer.from("PRI * HTTP/2.0");

function startsLikeHttp2(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, preface.length);
  return chunk.subarray(0, n).equals(preface.subarray(0, n));
}

/**
 * Node's HTTP/1.1 settings for `limits`. Node enforces headersTimeout and
 * requestTimeout (a 408, then the socket closes) by checking its
 * connections every connectionsCheckingInterval, from when the server
 * starts listening. keepAliveTimeout is Node's default, which a secure
 * http2 server leaves its HTTP/1.1 side without.
 */
export function http1Timeouts(
  limits: Pick<ConnectionLimits, "headersTimeoutMs" | "requestTimeoutMs">,
) {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: 5000,
    connectionsCheckingInterval: Math.max(10, Math.min(limits.headersTimeoutMs / 4, 5000)),
  };
}

function listen(server: NetServer, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, ...(host ? { host } : {}) }, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Serves `handler` for the Connect, gRPC and gRPC-Web protocols on one port.
 * With TLS: HTTP/2 and HTTP/1.1 negotiated by ALPN. Without TLS: HTTP/2 with
 * prior knowledge (h2c) and HTTP/1.1 on the same port, told apart by the
 * HTTP/2 connection preface.
 */
export async function listenRpc(
  handler: NodeHandler,
  options: RpcListenOptions,
): Promise<RpcListener> {
  const sockets = new Set<Socket>();
  // Sockets an HTTP/2 session owns: closing the session closes them.
  const http2Sockets = new WeakSet<Socket>();
  const sessions = new Set<ServerHttp2Session>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  // The highest stream id each session has accepted, for a GOAWAY that lets those finish.
  const lastStreamIds = new WeakMap<ServerHttp2Session, number>();
  // Our own GOAWAY first: session.close()'s names stream 0 as the last one
  // processed, which makes clients cancel what is in flight.
  const closeSession = (session: ServerHttp2Session) => {
    // A session destroyed by its peer stays in `sessions` until its "close"
    // event, a tick later; goaway() on it throws ERR_HTTP2_INVALID_SESSION.
    if (session.closed || session.destroyed) return;
    session.goaway(constants.NGHTTP2_NO_ERROR, lastStreamIds.get(session) ?? 0);
    session.close();
  };
  const { limits } = options;
  const deadlines = createRequestDeadlines(limits.requestTimeoutMs);
  const trackSessions = (server: Http2Server | Http2SecureServer) => {
    server.on("session", (session: ServerHttp2Session) => {
      sessions.add(session);
      widenConnectionWindow(session);
      // session.socket is a proxy: the TLS socket is found by its protocol.
      for (const socket of sockets) {
        if ((socket as Partial<TLSSocket>).alpnProtocol === "h2") http2Sockets.add(socket);
      }
      // A session with no stream open is closed after a while: a short one
      // (the header timeout) until its first request, the idle timeout after.
      let open = 0;
      let idle: NodeJS.Timeout | undefined;
      const closeWhenIdle = (ms: number) => {
        if (session.closed || session.destroyed) return;
        idle = setTimeout(() => {
          if (open === 0 && !session.closed && !session.destroyed) closeSession(session);
        }, ms).unref();
      };
      closeWhenIdle(limits.headersTimeoutMs);
      session.once("close", () => {
        clearTimeout(idle);
        sessions.delete(session);
      });
      session.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
        lastStreamIds.set(session, Math.max(lastStreamIds.get(session) ?? 0, stream.id ?? 0));
        open++;
        clearTimeout(idle);
        // The whole request (its body ends the readable side) within the request timeout.
        // Bidi streams (a console) keep their request open by design.
        const path = (headers[":path"] ?? "").split("?", 1)[0] ?? "";
        if (!options.openRequestPaths?.has(path)) deadlines.watch(stream);
        stream.once("close", () => {
          deadlines.forget(stream);
          if (--open === 0) closeWhenIdle(limits.idleTimeoutMs);
        });
      });
    });
  };

  // Responses not yet sent, counted from the request event to the response's close.
  let openResponses = 0;
  let onAllSent: (() => void) | undefined;
  const countResponses = (server: {
    on(
      event: "request",
      listener: (req: unknown, res: { once(e: "close", l: () => void): unknown }) => void,
    ): unknown;
  }) => {
    server.on("request", (_req, res) => {
      openResponses++;
      res.once("close", () => {
        if (--openResponses === 0) onAllSent?.();
      });
    });
  };

  let acceptor: NetServer;
  let setSecureContext: (o: SecureContextOptions) => void = () => {
    throw new Error("the server does not use TLS");
  };
  let closeHttp1Idle = () => {};
  let stopHttp1Checks = () => {};

  if (options.tls) {
    const server = createSecureServer(
      {
        ...options.tls,
        allowHTTP1: true,
        requestCert: options.requireClientCertificate,
        rejectUnauthorized: options.requireClientCertificate,
        handshakeTimeout: limits.headersTimeoutMs,
        settings: http2WindowSettings,
      },
      handler,
    );
    Object.assign(server, http1Timeouts(limits));
    // A listener replaces Node's default, which only destroys the socket.
    server.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
      // A socket the failure already destroyed (a certificate of another CA) has lost its peer.
      const parent = (socket as TLSSocket & { _parent?: { remoteAddress?: string } })._parent;
      const address = socket.remoteAddress ?? parent?.remoteAddress ?? "unknown";
      options.onHandshakeRefused?.(address, handshakeReason(err));
      socket.destroy();
    });
    trackSessions(server);
    countResponses(server);
    // HTTP/1.1 over TLS is served by the http2 server itself, upgrades included.
    if (options.upgrade) server.on("upgrade", options.upgrade);
    server.on("connection", track);
    setSecureContext = (o) => server.setSecureContext(o);
    acceptor = server;
  } else {
    const h2 = createHttp2Server({ settings: http2WindowSettings }, handler);
    const h1 = createHttp1Server(http1Timeouts(limits), handler);
    // h1 never listens itself (sockets are handed to it below), so start the
    // connection checks that enforce its timeouts as listening would.
    h1.emit("listening");
    trackSessions(h2);
    countResponses(h2);
    countResponses(h1);
    if (options.upgrade) h1.on("upgrade", options.upgrade);
    closeHttp1Idle = () => h1.closeIdleConnections();
    // close() on a server that never listened only stops those checks.
    stopHttp1Checks = () => void h1.close();
    acceptor = createNetServer((socket) => {
      track(socket);
      // Until the first bytes say which server takes it, the socket is ours:
      // a client that sends nothing is dropped, and an error (a reset) must
      // have a listener or it would crash the process.
      const drop = () => socket.destroy();
      socket.setTimeout(limits.headersTimeoutMs);
      socket.once("timeout", drop);
      socket.once("error", drop);
      socket.once("data", (chunk: Buffer) => {
        socket.setTimeout(0);
        socket.off("timeout", drop);
        socket.off("error", drop);
        socket.pause();
        socket.unshift(chunk);
        if (startsLikeHttp2(chunk)) http2Sockets.add(socket);
        (startsLikeHttp2(chunk) ? h2 : h1).emit("connection", socket);
        process.nextTick(() => socket.resume());
      });
    });
  }
  acceptor.maxConnections = limits.maxConnections;
  acceptor.on("drop", () => options.onRefused?.());

  const address = await listen(acceptor, options.host, options.port);
  return {
    address,
    setSecureContext: (o) => setSecureContext(o),
    stopAccepting() {
      acceptor.close();
      closeHttp1Idle();
    },
    close(timeoutMs) {
      stopHttp1Checks();
      for (const session of sessions) closeSession(session);
      for (const socket of sockets) if (!http2Sockets.has(socket)) socket.end();
      if (sockets.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          for (const socket of sockets) socket.destroy();
          resolve();
        };
        // Destroying at once would drop bytes still queued on a socket, such
        // as the trailers that end a stream.
        const timer = setTimeout(done, timeoutMs);
        let open = sockets.size;
        for (const socket of sockets) {
          socket.once("close", () => {
            if (--open === 0) done();
          });
        }
      });
    },
    responsesSent(timeoutMs) {
      if (openResponses === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        onAllSent = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    },
    destroy() {
      stopHttp1Checks();
      deadlines.stop();
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Why a handshake failed, in OpenSSL's words where it gave them ("certificate required"). */
function handshakeReason(err: Error & { code?: string; reason?: string }): string {
  return err.reason ?? err.code ?? err.message;
}
