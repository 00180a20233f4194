import { createServer as createHttpServer } from "node:http";
import { createSecureServer, createServer as createHttp2Server } from "node:http2";
import { type Server, type Socket, connect, createServer as createNetServer } from "node:net";

/** A server a Provider's endpoint may name by mistake, counting what reaches it. */
export interface FakeEndpoint {
  /** 127.0.0.1:port, without a scheme. */
  address: string;
  port: number;
  /** Connections, or requests, so far (see each fake). */
  count(): number;
  close(): Promise<void>;
}

async function serve(server: Server, count: () => number): Promise<FakeEndpoint> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    port,
    count,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP/1.1 web server answering an HTML page; counts connections. */
export function startWebServer(): Promise<FakeEndpoint> {
  let connections = 0;
  const server = createHttpServer((_req, res) => {
    res.setHeader("content-type", "text/html");
    res.end("<html><body>It works!</body></html>");
  });
  server.on("connection", () => connections++);
  return serve(server, () => connections);
}

/** A TCP server that answers every connection with a line of garbage; counts connections. */
export function startGarbageServer(): Promise<FakeEndpoint> {
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    socket.end("SSH-2.0-OpenSSH_9.2 garbage\r\n");
  });
  return serve(server, () => connections);
}

/** A TCP server that resets every connection at once; counts connections. */
export function startResettingServer(): Promise<FakeEndpoint> {
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    socket.resetAndDestroy();
  });
  return serve(server, () => connections);
}

/** A plaintext HTTP/2 server answering every request with an HTML page; counts requests. */
export function startHttp2WebServer(): Promise<FakeEndpoint> {
  let requests = 0;
  const server = createHttp2Server((_req, res) => {
    requests++;
    res.setHeader("content-type", "text/html");
    res.end("<html></html>");
  });
  return serve(server, () => requests);
}

/** An HTTP/2 TLS server with the given certificate; counts TCP connections. */
export function startTlsServer(cert: Buffer, key: Buffer): Promise<FakeEndpoint> {
  let connections = 0;
  const server = createSecureServer({ cert, key }, (_req, res) => res.end("hello"));
  server.on("connection", () => connections++);
  server.on("tlsClientError", () => {});
  return serve(server, () => connections);
}

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * A TCP proxy in front of a plaintext HTTP/2 server that counts the requests
 * (HEADERS frames) clients send through it, whatever the server answers: a
 * way to count calls to a real server that has no counter of its own.
 */
export function startRequestCountingProxy(targetPort: number): Promise<FakeEndpoint> {
  let requests = 0;
  const server = createNetServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    upstream.pipe(client);
    let pending = Buffer.alloc(0);
    let sawPreface = false;
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      if (!sawPreface) {
        if (pending.length < preface.length) return;
        sawPreface = true;
        pending = pending.subarray(preface.length);
      }
      // Frames: a 3-byte length, a type (1 is HEADERS), flags, a stream id.
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        if (pending[3] === 1) requests++;
        pending = pending.subarray(9 + length);
      }
    });
  });
  return serve(server, () => requests);
}
