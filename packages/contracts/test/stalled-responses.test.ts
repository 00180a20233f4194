import { connect as connectHttp2 } from "node:http2";
import { type Socket, connect } from "node:net";
import { Writable } from "node:stream";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ManagerService, WatchEventType, WatchRequestSchema } from "@virtrigaud/proto/manager";
import { ProviderService, createLogger } from "../src/index.js";
import { createServiceClient } from "../src/client/index.js";
import { type ServicesServer, serveServices, servedService } from "../src/server/index.js";

// A server stream whose client stops reading. Its writes cannot complete;
// the stream must still end (the handler's finally runs, and with it the
// release of whatever the handler holds) when the client goes, or when it
// has read nothing for the write timeout.

/** Stream handlers running now, and a way to wait for them all to finish. */
const running = new Set<string>();
let finished: (() => void) | undefined;
const allFinished = () =>
  new Promise<void>((resolve) => {
    if (running.size === 0) resolve();
    else finished = resolve;
  });

async function start(writeTimeoutMs: number, drainTimeoutMs = 500) {
  const lines: string[] = [];
  const server = await serveServices({
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    drainTimeoutMs,
    writeTimeoutMs,
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
        // As fast as the client takes them, 16 KiB a message, until the call ends.
        async *watch(request, context) {
          running.add(request.name);
          try {
            const padding = { labels: { pad: "x".repeat(16_384) } };
            for (let rv = 1; !context.signal.aborted; rv++) {
              yield await Promise.resolve({
                type: WatchEventType.ADDED,
                resourceVersion: String(rv),
                resource: { kind: { case: "vmClass" as const, value: { metadata: padding } } },
              });
            }
          } finally {
            running.delete(request.name);
            if (running.size === 0) finished?.();
          }
        },
      }),
    ],
  });
  return { server, lines };
}

/** A Connect server stream over HTTP/1.1 on a raw socket that reads its first bytes, then stops. */
async function stalledWatch(server: ServicesServer, name: string): Promise<Socket> {
  const body = toBinary(WatchRequestSchema, create(WatchRequestSchema, { name }));
  const frame = Buffer.alloc(5 + body.byteLength);
  frame.writeUInt32BE(body.byteLength, 1);
  frame.set(body, 5);
  const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
  socket.on("error", () => {});
  socket.write(
    "POST /virtrigaud.manager.v1.ManagerService/Watch HTTP/1.1\r\nHost: x\r\n" +
      "Content-Type: application/connect+proto\r\nConnect-Protocol-Version: 1\r\n" +
      `Content-Length: ${frame.byteLength}\r\n\r\n`,
  );
  socket.write(frame);
  await new Promise((resolve) => socket.once("data", resolve));
  socket.pause();
  return socket;
}

describe("with a short write timeout", () => {
  let server: ServicesServer;
  let lines: string[];
  beforeAll(async () => ({ server, lines } = await start(300)));
  afterAll(() => server.close());

  it("abandons an HTTP/1.1 stream its client stopped reading, and ends its handler", async () => {
    const socket = await stalledWatch(server, "h1-stalled");
    expect(running.has("h1-stalled")).toBe(true);
    await allFinished();
    // The server closed the connection (read on, to see it).
    const gone = new Promise((resolve) => socket.once("close", resolve));
    socket.resume();
    await gone;
    expect(lines.join("")).toContain('"msg":"response abandoned"');
  });

  it("resets an HTTP/2 stream its client stopped reading, and the connection serves on", async () => {
    const session = connectHttp2(server.url);
    session.on("error", () => {});
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/virtrigaud.manager.v1.ManagerService/Watch",
        "content-type": "application/connect+json",
        "connect-protocol-version": "1",
      });
      const body = Buffer.from(JSON.stringify({ name: "h2-stalled" }));
      const frame = Buffer.alloc(5 + body.byteLength);
      frame.writeUInt32BE(body.byteLength, 1);
      frame.set(body, 5);
      stream.end(frame);
      await new Promise((resolve) => stream.once("data", resolve));
      stream.pause();
      await allFinished();
      const reset = new Promise((resolve) => stream.once("close", resolve));
      stream.resume();
      await reset;
      expect(stream.rstCode).not.toBe(0);
      // Only the stream was reset: the same connection takes another call.
      const other = session.request({
        ":method": "POST",
        ":path": "/virtrigaud.provider.v1.ProviderService/Describe",
        "content-type": "application/json",
        "connect-protocol-version": "1",
      });
      let answer = "";
      other.on("data", (chunk: Buffer) => (answer += chunk.toString()));
      other.end(JSON.stringify({ vmId: "vm-1" }));
      await new Promise((resolve) => other.once("close", resolve));
      expect(JSON.parse(answer)).toEqual({ exists: true });
    } finally {
      session.close();
    }
  });

  it("keeps serving a client that reads slowly but steadily", async () => {
    const client = createServiceClient(ManagerService, server.url, { httpVersion: "1.1" });
    try {
      let n = 0;
      for await (const event of client.watch({ name: "slow-reader" })) {
        expect(event.type).toBe(WatchEventType.ADDED);
        // Slower than the server writes, each pause shorter than the write timeout.
        await new Promise((resolve) => setTimeout(resolve, 100));
        if (++n === 8) break;
      }
      expect(n).toBe(8);
    } finally {
      client.close();
    }
    await allFinished();
  });
});

describe("with a long write timeout", () => {
  let server: ServicesServer;
  beforeAll(async () => ({ server } = await start(600_000)));
  afterAll(() => server.close());

  it("ends the handler of a stalled stream as soon as its client disconnects", async () => {
    const socket = await stalledWatch(server, "gone");
    // Let the server's writes back up before the client leaves.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(running.has("gone")).toBe(true);
    socket.destroy();
    await allFinished();
  });
});

describe("a drain with a stalled stream attached", () => {
  it("ends within the drain timeout: the connection is destroyed, not waited for", async () => {
    const drainTimeoutMs = 2000;
    const { server } = await start(600_000, drainTimeoutMs);
    const socket = await stalledWatch(server, "drained");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closedByServer = new Promise((resolve) => socket.once("close", resolve));
    const started = performance.now();
    await server.close();
    const took = performance.now() - started;
    socket.resume(); // read on, to see the close
    await closedByServer;
    await allFinished();
    // Before, a stalled client held the exit a further 3 s past the timeout
    // (abort, flush and close waited 1 s each).
    expect(took).toBeLessThan(drainTimeoutMs + 700);
  });
});
