import { rmSync } from "node:fs";
import { type ClientHttp2Session, connect as connectHttp2, constants } from "node:http2";
import { type Socket, connect } from "node:net";
import { Writable } from "node:stream";
import { connect as connectTls } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ManagerService, WatchEventType } from "@virtrigaud/proto/manager";
import { ProviderService, createLogger } from "../src/index.js";
import { createServiceClient } from "../src/client/index.js";
import {
  type ServeServicesOptions,
  type ServicesServer,
  serveServices,
  servedService,
} from "../src/server/index.js";
import { type TestCertificates, createTestCertificates } from "./certificates.js";

// What a connection may hold: nothing sent, headers or a body trickled, an
// HTTP/2 connection left idle, and how many connections at once. Limits are
// small so the tests are quick; each waits for the server to act, with the
// test's timeout as the bound.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a server with `options` over small timeouts; its log lines go to `lines`. */
async function serve(
  options: Partial<ServeServicesOptions> = {},
): Promise<{ server: ServicesServer; lines: string[] }> {
  const lines: string[] = [];
  const server = await serveServices({
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    drainTimeoutMs: 500,
    headersTimeoutMs: 300,
    requestTimeoutMs: 600,
    idleTimeoutMs: 300,
    readiness: () => Promise.resolve(),
    logger: createLogger({
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    }),
    services: [
      servedService(ProviderService, { describe: (r) => ({ exists: r.vmId === "vm-1" }) }),
      servedService(ManagerService, {
        // A watch that is quiet for longer than every timeout between its messages.
        async *watch(_request, context) {
          for (let rv = 1; rv <= 3 && !context.signal.aborted; rv++) {
            if (rv > 1) await sleep(1000);
            yield { type: WatchEventType.ADDED, resourceVersion: String(rv) };
          }
        },
      }),
    ],
    ...options,
  });
  return { server, lines };
}

const portOf = (server: ServicesServer) => Number(new URL(server.url).port);

/** Resolves when `socket` closes, with what the server sent on it. */
function closed(socket: Socket): Promise<string> {
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve(received)));
}

function openSocket(server: ServicesServer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(portOf(server), "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("timeouts", () => {
  let server: ServicesServer;
  beforeAll(async () => ({ server } = await serve()));
  afterAll(() => server.close());

  it("closes a connection that sends nothing", async () => {
    const socket = await openSocket(server);
    expect(await closed(socket)).toBe("");
  });

  it("closes an HTTP/1.1 connection that trickles its headers", async () => {
    const socket = await openSocket(server);
    const done = closed(socket);
    socket.write("POST /virtrigaud.provider.v1.ProviderService/Describe HTTP/1.1\r\nHost: x\r\n");
    let open = true;
    void done.then(() => (open = false));
    // One header byte at a time, each in time for any idle timer, never finishing.
    for (let i = 0; open && i < 200; i++) {
      socket.write("x");
      await sleep(50);
    }
    expect(await done).toContain("408");
  });

  it("closes an HTTP/1.1 request whose body trickles", async () => {
    const socket = await openSocket(server);
    const done = closed(socket);
    socket.write(
      "POST /virtrigaud.provider.v1.ProviderService/Describe HTTP/1.1\r\nHost: x\r\n" +
        "Content-Type: application/proto\r\nConnect-Protocol-Version: 1\r\nContent-Length: 10000\r\n\r\n",
    );
    let open = true;
    void done.then(() => (open = false));
    for (let i = 0; open && i < 200; i++) {
      socket.write("\n");
      await sleep(50);
    }
    await done;
    expect(open).toBe(false);
  });

  it("cancels an HTTP/2 request whose body trickles, and serves the connection's other calls", async () => {
    const session: ClientHttp2Session = connectHttp2(server.url);
    session.on("error", () => {});
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/virtrigaud.provider.v1.ProviderService/Describe",
        "content-type": "application/json",
        "connect-protocol-version": "1",
      });
      stream.on("error", () => {});
      const openedAt = performance.now();
      const closedWith = new Promise<number>((resolve) =>
        stream.once("close", () => resolve(stream.rstCode ?? -1)),
      );
      let open = true;
      void closedWith.then(() => (open = false));
      // A byte every 50 ms keeps every idle timer quiet; the body never ends.
      for (let i = 0; open && i < 200; i++) {
        stream.write(" ");
        await sleep(50);
      }
      expect(await closedWith).toBe(constants.NGHTTP2_CANCEL);
      // Not before the request timeout (600 ms), and not long after it.
      const tookMs = performance.now() - openedAt;
      expect(tookMs).toBeGreaterThanOrEqual(590);
      expect(tookMs).toBeLessThan(3000);

      const answer = session.request({
        ":method": "POST",
        ":path": "/virtrigaud.provider.v1.ProviderService/Describe",
        "content-type": "application/json",
        "connect-protocol-version": "1",
      });
      answer.end(JSON.stringify({ vmId: "vm-1" }));
      let body = "";
      answer.on("data", (chunk: Buffer) => (body += chunk.toString()));
      await new Promise((resolve) => answer.once("close", resolve));
      expect(JSON.parse(body)).toEqual({ exists: true });
    } finally {
      session.close();
    }
  });

  it("closes an HTTP/2 connection that opens no stream", async () => {
    const session = connectHttp2(server.url);
    session.on("error", () => {});
    await new Promise((resolve) => session.once("close", resolve));
  });

  it("closes an HTTP/2 connection left idle after its calls, and clients carry on", async () => {
    const session: ClientHttp2Session = connectHttp2(server.url);
    session.on("error", () => {});
    const goaway = new Promise((resolve) => session.once("goaway", resolve));
    const stream = session.request({
      ":method": "POST",
      ":path": "/virtrigaud.provider.v1.ProviderService/Describe",
      "content-type": "application/json",
      "connect-protocol-version": "1",
    });
    stream.end(JSON.stringify({ vmId: "vm-1" }));
    stream.resume();
    await new Promise((resolve) => stream.once("close", resolve));
    await goaway;
    await new Promise((resolve) => session.once("close", resolve));

    const client = createServiceClient(ProviderService, server.url, { retry: false });
    try {
      expect((await client.describe({ vmId: "vm-1" })).exists).toBe(true);
      await sleep(600);
      // The client's idle connection was closed meanwhile: the next call opens another.
      expect((await client.describe({ vmId: "vm-1" })).exists).toBe(true);
    } finally {
      client.close();
    }
  });

  it.each(["1.1", "2"] as const)(
    "keeps a watch open over HTTP/%s for longer than every timeout",
    async (httpVersion) => {
      const client = createServiceClient(ManagerService, server.url, { httpVersion });
      try {
        const seen: string[] = [];
        for await (const event of client.watch({})) seen.push(event.resourceVersion);
        expect(seen).toEqual(["1", "2", "3"]);
      } finally {
        client.close();
      }
    },
  );
});

describe("timeouts with TLS", () => {
  let pki: TestCertificates;
  let server: ServicesServer;
  beforeAll(async () => {
    pki = createTestCertificates();
    ({ server } = await serve({
      insecure: false,
      tls: { certFile: pki.serverCert, keyFile: pki.serverKey },
    }));
  });
  afterAll(async () => {
    await server.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it("closes a connection that never completes its handshake", async () => {
    const socket = await openSocket(server);
    expect(await closed(socket)).toBe("");
  });

  it("closes a TLS HTTP/1.1 connection that trickles its headers", async () => {
    const socket = connectTls({
      port: portOf(server),
      host: "127.0.0.1",
      servername: "localhost",
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    const done = closed(socket);
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    expect(await done).toContain("408");
  });
});

describe("maxConnections", () => {
  let server: ServicesServer;
  let lines: string[];
  beforeAll(async () => {
    ({ server, lines } = await serve({
      maxConnections: 3,
      headersTimeoutMs: 20_000,
      requestTimeoutMs: 20_000,
      idleTimeoutMs: 20_000,
    }));
  });
  afterAll(() => server.close());

  it("refuses connections beyond the cap, logs it once, and serves the open ones", async () => {
    const client = createServiceClient(ProviderService, server.url, { retry: false });
    const held: Socket[] = [];
    try {
      expect((await client.describe({ vmId: "vm-1" })).exists).toBe(true);
      held.push(await openSocket(server), await openSocket(server));
      // Three are open: more are closed as they arrive, before a byte is read.
      const refused = await Promise.all(
        Array.from({ length: 5 }, async () => closed(await openSocket(server))),
      );
      expect(refused).toEqual(["", "", "", "", ""]);
      // The connection already open still answers.
      expect((await client.describe({ vmId: "vm-1" })).exists).toBe(true);
      const logged = lines.filter((l) => l.includes("refusing connections"));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('"maxConnections":3');
    } finally {
      for (const socket of held) socket.destroy();
      client.close();
    }
    // Room again once they are gone.
    const late = createServiceClient(ProviderService, server.url, { retry: false });
    try {
      for (;;) {
        const answer = await late.describe({ vmId: "vm-1" }).catch(() => undefined);
        if (answer) break;
        await sleep(50);
      }
    } finally {
      late.close();
    }
  });
});
