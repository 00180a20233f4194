import { connect as connectHttp2 } from "node:http2";
import { type Socket, connect } from "node:net";
import { createGzip } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { WatchRequestSchema } from "@virtrigaud/proto/manager";

// What a careless or hostile client does to the manager's API port, as raw
// sockets: nothing here goes through the SDK's client, which would be polite.

const watchPath = "/virtrigaud.manager.v1.ManagerService/Watch";
const applyPath = "/virtrigaud.manager.v1.ManagerService/Apply";

/** A Connect streaming envelope: flags, big-endian length, message. */
function envelope(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** What happened to the connections an attacker opened. */
interface AttackStats {
  opened: number;
  /** Closed by the server (or refused) before the attacker let go. */
  closedByServer: number;
  /** Bytes the server sent back. */
  bytesReceived: number;
}

/** Connections the attacker still holds; `stop` lets go of all of them. */
export interface Attack {
  stats: AttackStats;
  stop(): void;
}

function stats(): AttackStats {
  return { opened: 0, closedByServer: 0, bytesReceived: 0 };
}

/** `count` TCP connections that never send a byte. */
export function idleSockets(url: string, count: number): Attack {
  const s = stats();
  const sockets: Socket[] = [];
  let stopping = false;
  for (let i = 0; i < count; i++) {
    const socket = connect(hostPort(url));
    sockets.push(socket);
    socket.on("connect", () => s.opened++);
    socket.on("data", (chunk: Buffer) => (s.bytesReceived += chunk.length));
    socket.on("error", () => {});
    socket.on("close", () => {
      if (!stopping) s.closedByServer++;
    });
  }
  return {
    stats: s,
    stop() {
      stopping = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * `count` watches of every kind that read their responses at a trickle: half
 * over HTTP/1.1 (Connect streaming on a raw socket), half over HTTP/2, each
 * reading one chunk every `readEveryMs` and otherwise leaving the server's
 * writes to back up.
 */
export function slowWatches(url: string, count: number, readEveryMs: number): Attack {
  const s = stats();
  const body = envelope(toBinary(WatchRequestSchema, create(WatchRequestSchema, {})));
  const stoppers: Array<() => void> = [];
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  const closed = () => {
    if (!stopping) s.closedByServer++;
  };
  const { host, port } = hostPort(url);
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      const socket = connect({ host, port });
      socket.on("error", () => {});
      socket.on("close", closed);
      socket.on("connect", () => {
        s.opened++;
        socket.write(
          `POST ${watchPath} HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
            "Content-Type: application/connect+proto\r\nConnect-Protocol-Version: 1\r\n" +
            `Content-Length: ${body.length}\r\n\r\n`,
        );
        socket.write(body);
      });
      trickle(socket);
      stoppers.push(() => socket.destroy());
    } else {
      const session = connectHttp2(url);
      session.on("error", () => {});
      session.on("close", closed);
      const stream = session.request({
        ":method": "POST",
        ":path": watchPath,
        "content-type": "application/connect+proto",
        "connect-protocol-version": "1",
      });
      stream.on("error", () => {});
      stream.on("response", () => s.opened++);
      stream.end(body);
      trickle(stream);
      stoppers.push(() => session.destroy());
    }
  }
  function trickle(readable: NodeJS.ReadableStream & { read(size?: number): unknown }) {
    readable.pause();
    timers.push(
      setInterval(() => {
        const chunk = readable.read(1024);
        if (chunk) s.bytesReceived += (chunk as Buffer).length;
      }, readEveryMs),
    );
  }
  return {
    stats: s,
    stop() {
      stopping = true;
      for (const t of timers) clearInterval(t);
      for (const stop of stoppers) stop();
    },
  };
}

/** The outcome of one oversized request. */
export interface OversizedOutcome {
  kind: "plain" | "gzip";
  /** The HTTP status, or the error that ended the request. */
  answer: string;
}

/** The bodies of oversized Apply requests, made before the attack so making them costs it nothing. */
export interface OversizedBodies {
  plain: Buffer;
  gzip: Buffer;
}

/**
 * A JSON Apply body whose one annotation is `plainBytes` long, and a small
 * gzip body that inflates to `inflatedBytes`; the server must refuse either
 * without holding it (or its inflation) whole.
 */
export async function oversizedBodies(
  plainBytes: number,
  inflatedBytes: number,
): Promise<OversizedBodies> {
  const head = Buffer.from(
    '{"resource":{"vmClass":{"metadata":{"name":"huge","annotations":{"blob":"',
  );
  const tail = Buffer.from('"}},"spec":{"cpu":1,"memory":"1Gi"}}}}');
  const filler = Buffer.alloc(1 << 20, "x");
  const plain = Buffer.concat([head, Buffer.alloc(plainBytes, "x"), tail]);
  // Gzip streamed a MiB at a time: the inflated text never exists here.
  const gzip = await new Promise<Buffer>((resolve, reject) => {
    const gzip = createGzip({ level: 9 });
    const parts: Buffer[] = [];
    gzip.on("data", (part: Buffer) => parts.push(part));
    gzip.on("end", () => resolve(Buffer.concat(parts)));
    gzip.on("error", reject);
    gzip.write(head);
    let left = Math.ceil(inflatedBytes / filler.length);
    const more = () => {
      while (left > 0) {
        left--;
        if (!gzip.write(filler)) return void gzip.once("drain", more);
      }
      gzip.end(tail);
    };
    more();
  });
  return { plain, gzip };
}

/**
 * Apply requests far over any sane size, half plain and half gzip. Each
 * request is given `timeoutMs` to be answered or cut off.
 */
export async function oversizedRequests(
  url: string,
  count: number,
  bodies: OversizedBodies,
  timeoutMs: number,
): Promise<OversizedOutcome[]> {
  const one = (kind: OversizedOutcome["kind"]): Promise<OversizedOutcome> =>
    new Promise((resolve) => {
      const session = connectHttp2(url);
      const done = (answer: string) => {
        clearTimeout(timer);
        session.destroy();
        resolve({ kind, answer });
      };
      const timer = setTimeout(() => done("no answer"), timeoutMs);
      session.on("error", (err) => done(`error ${(err as NodeJS.ErrnoException).code ?? err}`));
      const stream = session.request({
        ":method": "POST",
        ":path": applyPath,
        "content-type": "application/json",
        ...(kind === "gzip" ? { "content-encoding": "gzip" } : {}),
      });
      stream.on("response", (headers) => done(`HTTP ${headers[":status"]}`));
      stream.on("error", (err) => done(`error ${(err as NodeJS.ErrnoException).code ?? err}`));
      stream.end(bodies[kind]);
    });
  return Promise.all(Array.from({ length: count }, (_, i) => one(i % 2 === 0 ? "plain" : "gzip")));
}
