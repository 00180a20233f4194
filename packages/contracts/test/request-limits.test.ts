import { connect as connectHttp2 } from "node:http2";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { fromBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { DescribeRequestSchema } from "@virtrigaud/proto";
import { ManagerService, WatchEventType } from "@virtrigaud/proto/manager";
import { ErrorReason, ProviderError, ProviderService, createLogger } from "../src/index.js";
import { type ClientProtocol, createServiceClient } from "../src/client/index.js";
import { type ServicesServer, serveServices, servedService } from "../src/server/index.js";

// What a server does with requests it cannot take: too large, too large
// once inflated, or not the method's message at all. Each is the caller's
// mistake (INVALID_SPEC, not retried), whichever protocol carried it, and
// none makes the server hold more than its limit.

const readMaxBytes = 64 * 1024;
const lines: string[] = [];
let server: ServicesServer;

beforeAll(async () => {
  server = await serveServices({
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    readMaxBytes,
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
        async *watch() {
          yield await Promise.resolve({ type: WatchEventType.ADDED, resourceVersion: "1" });
        },
      }),
    ],
  });
});
afterAll(() => server.close());

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ProviderError.is(error)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

/** Bytes that are no protobuf message: field 1 with wire type 7, which does not exist. */
const garbage = new Uint8Array([0x0f, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03]);

/** A gRPC or Connect streaming envelope. */
function envelope(data: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}

/** A gzip body of `members` × 4 MiB of zeros: a few kilobytes that inflate to megabytes. */
function gzipBomb(members: number): Buffer {
  const one = gzipSync(Buffer.alloc(4 * 2 ** 20));
  return Buffer.concat(Array.from({ length: members }, () => one));
}

const describeUrl = () => `${server.url}/virtrigaud.provider.v1.ProviderService/Describe`;
const watchUrl = () => `${server.url}/virtrigaud.manager.v1.ManagerService/Watch`;

/** The code and message of a Connect end-stream message at the end of `body`. */
function endStream(body: Buffer): { code?: string; message?: string } {
  let at = 0;
  while (at + 5 <= body.byteLength) {
    const flags = body[at] ?? 0;
    const length = body.readUInt32BE(at + 1);
    if (flags & 0b10) {
      const end = JSON.parse(body.subarray(at + 5, at + 5 + length).toString()) as {
        error?: { code?: string; message?: string };
      };
      return end.error ?? {};
    }
    at += 5 + length;
  }
  return {};
}

describe("a request larger than readMaxBytes", () => {
  it.each<ClientProtocol>(["connect", "grpc", "grpc-web"])(
    "is refused with INVALID_SPEC over %s, a unary call or a stream",
    async (protocol) => {
      const provider = createServiceClient(ProviderService, server.url, { protocol, retry: false });
      const manager = createServiceClient(ManagerService, server.url, { protocol, retry: false });
      try {
        const error = await failure(provider.describe({ vmId: "x".repeat(100_000) }));
        expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
        expect(error.message).toContain(`larger than this server accepts (${readMaxBytes} bytes)`);
        const stream = await failure(
          (async () => {
            for await (const _ of manager.watch({ labelSelector: "x".repeat(100_000) })) void _;
          })(),
        );
        expect(stream.reason).toBe(ErrorReason.INVALID_SPEC);
        expect(stream.message).toContain("larger than this server accepts");
        // What fits is served as ever.
        expect((await provider.describe({ vmId: "vm-1" })).exists).toBe(true);
      } finally {
        provider.close();
        manager.close();
      }
    },
  );

  it("is answered over HTTP/2 before it is all sent, and the client told to stop sending", async () => {
    const session = connectHttp2(server.url);
    session.on("error", () => {});
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/virtrigaud.provider.v1.ProviderService/Describe",
        "content-type": "application/proto",
        "connect-protocol-version": "1",
      });
      stream.on("error", () => {});
      let body = "";
      stream.on("data", (chunk: Buffer) => (body += chunk.toString()));
      // 20 MiB, more than flow control lets through unread: the client waits on the server.
      const chunk = Buffer.alloc(2 ** 20, 1);
      let sent = 0;
      const pump = () => {
        while (sent < 20 && !stream.closed) {
          sent++;
          if (!stream.write(chunk)) return void stream.once("drain", pump);
        }
        stream.end();
      };
      pump();
      await new Promise((resolve) => stream.once("close", resolve));
      expect(stream.rstCode).toBe(0);
      expect(sent).toBeLessThan(20);
      expect(JSON.parse(body)).toMatchObject({ code: "invalid_argument" });
    } finally {
      session.close();
    }
  });

  it("is refused when a small gzip body inflates past it, unary or streamed", async () => {
    const bomb = gzipBomb(8);
    expect(bomb.byteLength).toBeLessThan(readMaxBytes);
    const unary = await fetch(describeUrl(), {
      method: "POST",
      headers: {
        "content-type": "application/proto",
        "content-encoding": "gzip",
        "connect-protocol-version": "1",
      },
      body: bomb,
    });
    const error = (await unary.json()) as { code: string; message: string };
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("larger once decompressed than this server accepts");

    const streamed = await fetch(watchUrl(), {
      method: "POST",
      headers: {
        "content-type": "application/connect+proto",
        "connect-content-encoding": "gzip",
        "connect-protocol-version": "1",
      },
      body: envelope(bomb, 1),
    });
    const end = endStream(Buffer.from(await streamed.arrayBuffer()));
    expect(end.code).toBe("invalid_argument");
    expect(end.message).toContain("larger once decompressed than this server accepts");

    // A body cut short is no gzip either.
    const cut = await fetch(describeUrl(), {
      method: "POST",
      headers: {
        "content-type": "application/proto",
        "content-encoding": "gzip",
        "connect-protocol-version": "1",
      },
      body: bomb.subarray(0, 100),
    });
    expect(((await cut.json()) as { code: string }).code).toBe("invalid_argument");
  });
});

describe("a body that is not the method's message", () => {
  it("is no DescribeRequest (the bytes are garbage)", () => {
    expect(() => fromBinary(DescribeRequestSchema, garbage)).toThrow();
  });

  it("is INVALID_SPEC over Connect, unary and streamed", async () => {
    const unary = await fetch(describeUrl(), {
      method: "POST",
      headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
      body: garbage,
    });
    expect(unary.status).toBe(400);
    const error = (await unary.json()) as { code: string; message: string };
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain(
      "the request body is not a virtrigaud.provider.v1.DescribeRequest",
    );

    const streamed = await fetch(watchUrl(), {
      method: "POST",
      headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
      body: envelope(garbage),
    });
    const end = endStream(Buffer.from(await streamed.arrayBuffer()));
    expect(end.code).toBe("invalid_argument");
    expect(end.message).toContain("the request body is not a virtrigaud.manager.v1.WatchRequest");
  });

  it("is INVALID_SPEC over gRPC-Web", async () => {
    const response = await fetch(describeUrl(), {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: envelope(garbage),
    });
    const body = Buffer.from(await response.arrayBuffer());
    const trailer = body.subarray(5).toString();
    expect(body[0]).toBe(0x80);
    expect(trailer).toMatch(/grpc-status: ?3\r\n/);
  });

  it("is INVALID_SPEC over gRPC", async () => {
    const session = connectHttp2(server.url);
    try {
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/virtrigaud.provider.v1.ProviderService/Describe",
          "content-type": "application/grpc+proto",
          te: "trailers",
        });
        stream.on("trailers", (t: Record<string, unknown>) => resolve(t));
        stream.on("error", reject);
        stream.resume();
        stream.end(envelope(garbage));
      });
      expect(trailers["grpc-status"]).toBe("3");
      expect(decodeURIComponent(String(trailers["grpc-message"]))).toContain(
        "the request body is not a virtrigaud.provider.v1.DescribeRequest",
      );
    } finally {
      session.close();
    }
  });

  it("has what it echoes of the request shortened: JSON that does not decode", async () => {
    const key = "k".repeat(50_000);
    const response = await fetch(`${server.url}/virtrigaud.manager.v1.ManagerService/Apply`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-protocol-version": "1" },
      body: JSON.stringify({ resource: { vmClass: { metadata: { labels: { [key]: 5 } } } } }),
    });
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("ObjectMeta.labels");
    expect(error.message.length).toBeLessThan(1000);
  });
});
