import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { SecureContextOptions } from "node:tls";
import { type DiskChunk, ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import type { Logger } from "../logging/create-logger.js";
import { type ConnectionLimits, http1Timeouts } from "../server/rpc-listener.js";
import type { ShareTickets } from "./share-tickets.js";
import { type RangeAsked, parseRangeRequest, rangeHeader, refusalOf } from "./range-protocol.js";

/** Reads one range of an export: the provider's DiskExportRead, called in process. */
export type ReadRange = (range: RangeAsked, signal: AbortSignal) => Promise<DiskChunk>;

/** Options of `listenTransfers`. */
export interface TransferListenOptions {
  host: string;
  port: number;
  /** TLS material (no client certificate is asked for: the ticket is the credential). */
  tls: SecureContextOptions | undefined;
  limits: Pick<ConnectionLimits, "maxConnections" | "headersTimeoutMs" | "requestTimeoutMs">;
  tickets: ShareTickets;
  read: ReadRange;
  logger: Logger;
}

/** The port shared exports are read on. */
export interface TransferListener {
  readonly address: AddressInfo;
  setSecureContext(options: SecureContextOptions): void;
  /** Stops accepting, ends the reads in flight and closes every connection. */
  close(): Promise<void>;
}

const bearer = /^Bearer ([A-Za-z0-9_-]{1,256})$/;

/**
 * Serves shared exports over HTTP/1.1 (HTTPS with `tls`): one range per
 * GET, read from the provider and written as it came, its SHA-256 in a
 * header. HTTP/1.1 rather than the RPC port's HTTP/2 because bulk bytes
 * cost Node's HTTP/2 a JavaScript event per 16 KiB frame, and because the
 * RPC port may require client certificates the reading provider lacks.
 */
export async function listenTransfers(options: TransferListenOptions): Promise<TransferListener> {
  const { tickets, read, logger } = options;
  const stop = new AbortController();
  const sockets = new Set<Socket>();

  const refuse = (res: ServerResponse, error: ProviderError) => {
    const { status, headers } = refusalOf(error);
    const body = Buffer.from(error.rawMessage);
    res.writeHead(status, {
      ...headers,
      "content-type": "text/plain; charset=utf-8",
      "content-length": body.length,
    });
    res.end(body);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET", "content-length": 0 }).end();
      return;
    }
    const range = parseRangeRequest(req.url ?? "/");
    const ticket = bearer.exec(req.headers.authorization ?? "")?.[1];
    if (!ticket || !tickets.allows(range.exportId, ticket))
      throw ProviderError.unauthenticated(
        `no valid ticket for export ${JSON.stringify(range.exportId)}: share it again (DiskExportShare)`,
      );
    // The read ends with the request: a reader that goes stops the provider's read too.
    const call = new AbortController();
    const onClose = () => call.abort(ProviderError.canceled("the reader went away"));
    res.once("close", onClose);
    const onStop = () => call.abort(ProviderError.unavailable("the provider is stopping"));
    stop.signal.addEventListener("abort", onStop, { once: true });
    try {
      const chunk = await read(range, call.signal);
      const zero = chunk.content.case === "zeroLength";
      const data = chunk.content.case === "data" ? chunk.content.value : new Uint8Array(0);
      const length = zero ? Number(chunk.content.value) : data.length;
      res.writeHead(200, {
        [rangeHeader.offset]: String(chunk.offset),
        [rangeHeader.length]: String(length),
        [rangeHeader.sha256]: chunk.sha256,
        ...(zero ? { [rangeHeader.zero]: "1" } : {}),
        "content-type": "application/octet-stream",
        "content-length": data.length,
      });
      res.end(data);
    } finally {
      res.off("close", onClose);
      stop.signal.removeEventListener("abort", onStop);
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch((thrown: unknown) => {
      const error = ProviderError.from(thrown);
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (error.reason === ErrorReason.INTERNAL)
        logger.error({ err: thrown, url: req.url?.split("?")[0] }, "a shared export's read failed");
      refuse(res, error);
    });
  };

  const server: Server = options.tls
    ? createTlsServer({ ...options.tls, ...http1Timeouts(options.limits) }, onRequest)
    : createServer(http1Timeouts(options.limits), onRequest);
  server.maxConnections = options.limits.maxConnections;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // A TLS client that fails its handshake is its own problem; nothing to log per attempt.
  server.on("tlsClientError", () => undefined);
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, ...(options.host ? { host: options.host } : {}) }, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });

  return {
    address,
    setSecureContext(material) {
      (server as unknown as { setSecureContext(o: SecureContextOptions): void }).setSecureContext(
        material,
      );
    },
    async close() {
      stop.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
