import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as connectHttp2 } from "node:http2";
import { type Socket, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type DescMessage, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { type ServiceClient, createServiceClient } from "@virtrigaud/contracts/client";
import {
  ApplyRequestSchema,
  Kind,
  ManagerService,
  ObjectMetaSchema,
  type Resource,
  ResourceSchema,
  VMClassSchema,
  WatchRequestSchema,
} from "@virtrigaud/proto/manager";
import {
  type ServerProcess,
  eventually,
  metricValue,
  scrape,
  spawnManager,
  spawnVrtg,
} from "./processes.js";

// The manager as a careless user or an attacker finds it, on real sockets
// against the real process: requests too large (or too large once
// inflated), bodies that are no request, labels that could never be
// selected, connections that send nothing or trickle, too many
// connections, and watches whose clients stop reading.

const dirs: string[] = [];
const managers: ServerProcess[] = [];
async function manager(args: string[] = []): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-limits-"));
  dirs.push(dir);
  const m = await spawnManager(dir, ["--drain-timeout", "1s", ...args]);
  managers.push(m);
  return m;
}
afterAll(async () => {
  await Promise.all(managers.map((m) => m.stop("SIGKILL")));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A figure of a process's memory from /proc, in bytes: VmRSS now, VmHWM its peak. */
function memory(m: ServerProcess, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${m.child.pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
}
const MiB = 2 ** 20;

function vmClass(name: string, metadata: Record<string, unknown> = {}): Resource {
  return {
    kind: {
      case: "vmClass",
      value: {
        apiVersion: "infra.virtrigaud.io/v1beta1",
        kind: "VMClass",
        metadata: { name, ...metadata },
        spec: { cpu: 1, memory: "1Gi" },
      },
    },
  } as Resource;
}

/** A Connect (or gRPC) stream's frame around `data`. */
function envelope(data: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + data.byteLength);
  frame.writeUInt32BE(data.byteLength, 1);
  frame.set(data, 5);
  return frame;
}

/** The messages of a Connect JSON stream: each frame's JSON, and whether it ends the stream. */
function connectFrames(body: Buffer): Array<{ end: boolean; json: unknown }> {
  const frames: Array<{ end: boolean; json: unknown }> = [];
  for (let at = 0; at + 5 <= body.byteLength;) {
    const length = body.readUInt32BE(at + 1);
    const json: unknown = JSON.parse(body.subarray(at + 5, at + 5 + length).toString());
    frames.push({ end: ((body[at] ?? 0) & 0b10) !== 0, json });
    at += 5 + length;
  }
  return frames;
}

/** A protobuf varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/** Field `no` of wire type LEN around `chunks`. */
function lengthDelimited(no: number, chunks: Buffer[]): Buffer[] {
  const length = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  return [Buffer.concat([varint((no << 3) | 2), varint(length)]), ...chunks];
}

const fieldNo = (schema: DescMessage, name: string) =>
  schema.fields.find((f) => f.name === name)?.number ?? 0;

/**
 * The bytes of an ApplyRequest for VMClass `name` with one annotation of
 * `bytes` bytes, built by hand: protobuf-es takes seconds to encode a
 * string that large.
 */
function applyWithAnnotation(name: string, bytes: number): Buffer[] {
  const entry = [
    ...lengthDelimited(1, [Buffer.from("note")]),
    ...lengthDelimited(2, [Buffer.alloc(bytes, "x")]),
  ];
  const meta = [
    Buffer.from(toBinary(ObjectMetaSchema, create(ObjectMetaSchema, { name }))),
    ...lengthDelimited(fieldNo(ObjectMetaSchema, "annotations"), entry),
  ];
  const spec = create(VMClassSchema, {
    apiVersion: "infra.virtrigaud.io/v1beta1",
    kind: "VMClass",
    spec: { cpu: 1, memory: "1Gi" },
  });
  const vmClassBytes = [
    Buffer.from(toBinary(VMClassSchema, spec)),
    ...lengthDelimited(fieldNo(VMClassSchema, "metadata"), meta),
  ];
  const resource = lengthDelimited(fieldNo(ResourceSchema, "vm_class"), vmClassBytes);
  return lengthDelimited(fieldNo(ApplyRequestSchema, "resource"), resource);
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!ProviderError.is(error)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

function openSocket(m: ServerProcess): Promise<Socket> {
  const url = new URL(m.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves when `socket` closes, with what it received. */
function closed(socket: Socket): Promise<string> {
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve(received)));
}

describe("a manager with its default limits", () => {
  let m: ServerProcess;
  let client: ServiceClient<typeof ManagerService>;
  beforeAll(async () => {
    m = await manager();
    client = createServiceClient(ManagerService, m.url, { retry: false });
  });
  afterAll(() => client.close());

  it("refuses a gzip body that inflates to 1 GiB, without inflating it", async () => {
    // 64 gzip members of 16 MiB of zeros each: about 1 MB on the wire.
    const member = gzipSync(Buffer.alloc(16 * MiB));
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    const peakBefore = memory(m, "VmHWM");
    const response = await fetch(`${m.url}/virtrigaud.manager.v1.ManagerService/Apply`, {
      method: "POST",
      headers: {
        "content-type": "application/proto",
        "content-encoding": "gzip",
        "connect-protocol-version": "1",
      },
      body: bomb,
    });
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("larger once decompressed than this server accepts");
    expect(memory(m, "VmHWM") - peakBefore).toBeLessThan(100 * MiB);
  });

  it("builds an ApplyRequest by hand that protobuf-es reads", () => {
    const request = fromBinary(
      ApplyRequestSchema,
      Buffer.concat(applyWithAnnotation("hand", 1000)),
    );
    const value = request.resource?.kind.value;
    expect(value?.metadata?.name).toBe("hand");
    expect(value?.metadata?.annotations["note"]).toBe("x".repeat(1000));
  });

  it("refuses a 200 MB annotation without reading it all, and stores nothing", async () => {
    const apply = Buffer.concat(applyWithAnnotation("huge", 200e6));
    const head = (framing: string) =>
      "POST /virtrigaud.manager.v1.ManagerService/Apply HTTP/1.1\r\nHost: x\r\n" +
      `Content-Type: application/proto\r\nConnect-Protocol-Version: 1\r\n${framing}\r\n`;
    // Declared whole, and sent chunked as a client that streams its body does.
    for (const framing of ["length", "chunked"]) {
      const socket = await openSocket(m);
      const answer = closed(socket);
      let answered = false;
      socket.once("data", () => (answered = true));
      if (framing === "length") {
        socket.write(head(`Content-Length: ${apply.byteLength}\r\n`));
        socket.write(apply.subarray(0, 65536));
      } else {
        socket.write(head("Transfer-Encoding: chunked\r\n"));
        for (let at = 0; !answered && at < apply.byteLength; at += MiB) {
          const chunk = apply.subarray(at, at + MiB);
          socket.write(`${chunk.byteLength.toString(16)}\r\n`);
          socket.write(chunk);
          await new Promise<void>((resolve) => socket.write("\r\n", () => resolve()));
        }
      }
      while (!answered) await new Promise((resolve) => setTimeout(resolve, 20));
      socket.end();
      const response = await answer;
      expect(response).toMatch(/^HTTP\/1.1 400/);
      expect(response).toContain('"code":"invalid_argument"');
      expect(response).toContain("larger than this server accepts (4194304 bytes)");
    }
    const missing = await failure(client.get({ kind: Kind.VM_CLASS, name: "huge" }));
    expect(missing.reason).toBe(ErrorReason.NOT_FOUND);
    expect(memory(m, "VmHWM")).toBeLessThan(500 * MiB);
  });

  it("refuses annotations over 256 KiB in all, naming the field", async () => {
    const error = await failure(
      client.apply({ resource: vmClass("noted", { annotations: { note: "x".repeat(300_000) } }) }),
    );
    expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(error.field).toBe("resource.vm_class.metadata.annotations");
    expect(error.message).toContain("262144 bytes");
    expect((await failure(client.get({ kind: Kind.VM_CLASS, name: "noted" }))).reason).toBe(
      ErrorReason.NOT_FOUND,
    );
  });

  it("answers a body that is no ApplyRequest with invalid argument, not internal", async () => {
    // Field 1 with wire type 7, which does not exist, then noise.
    const garbage = new Uint8Array([0x0f, 0x9a, 0x3c, 0xff, 0x00, 0x41, 0x7e, 0x13, 0xc8]);
    const response = await fetch(`${m.url}/virtrigaud.manager.v1.ManagerService/Apply`, {
      method: "POST",
      headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
      body: garbage,
    });
    expect(response.status).toBe(400);
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("not a virtrigaud.manager.v1.ApplyRequest");
  });

  it("refuses a label value no selector could name, and selects the ones it stores", async () => {
    for (const value of ["prod east", "-prod", "x".repeat(64), "a/b"]) {
      const error = await failure(
        client.apply({ resource: vmClass("labelled", { labels: { env: value } }) }),
      );
      expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
      expect(error.field).toBe('resource.vm_class.metadata.labels["env"]');
    }
    await client.apply({ resource: vmClass("labelled", { labels: { env: "prod.east_1" } }) });
    const { resources } = await client.list({
      kind: Kind.VM_CLASS,
      labelSelector: "env=prod.east_1",
    });
    expect(resources).toHaveLength(1);
  });

  it("survives clients that reset their connection before their first byte", async () => {
    for (let i = 0; i < 3; i++) {
      const socket = await openSocket(m);
      const gone = closed(socket);
      socket.resetAndDestroy();
      await gone;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(m.child.exitCode).toBeNull();
    expect((await client.list({ kind: Kind.VM_CLASS })).resources.length).toBeGreaterThan(0);
  });
});

describe("a manager taking messages of up to 16 MiB", () => {
  it("refuses a 10 MB annotation key with an error and log lines that echo it shortened", async () => {
    const m = await manager(["--max-message-size", "16Mi"]);
    const client = createServiceClient(ManagerService, m.url, { retry: false });
    try {
      const key = "k".repeat(10e6);
      const error = await failure(
        client.apply({ resource: vmClass("keyed", { annotations: { [key]: "v" } }) }),
      );
      expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
      expect(error.field?.startsWith('resource.vm_class.metadata.annotations["kkk')).toBe(true);
      expect(error.field?.length).toBeLessThan(200);
      expect(error.message.length).toBeLessThan(500);
      await eventually(() => m.logs.some((l) => l["msg"] === "call failed"));
      const longest = Math.max(...m.logs.map((l) => JSON.stringify(l).length));
      expect(longest).toBeLessThan(2000);
    } finally {
      client.close();
    }
  });
});

describe("connections", () => {
  it("closes silent and trickling connections after the header timeout, answering meanwhile", async () => {
    const m = await manager(["--header-timeout", "500ms", "--request-timeout", "1s"]);
    const client = createServiceClient(ManagerService, m.url, { retry: false });
    try {
      const silent = await Promise.all(Array.from({ length: 20 }, () => openSocket(m)));
      const trickling = await Promise.all(Array.from({ length: 5 }, () => openSocket(m)));
      const all = [...silent, ...trickling].map(closed);
      for (const socket of trickling)
        socket.write("POST /virtrigaud.manager.v1.ManagerService/List HTTP/1.1\r\nHost: x\r\n");
      let open = true;
      const done = Promise.all(all).then(() => (open = false));
      for (let i = 0; open && i < 300; i++) {
        for (const socket of trickling) if (!socket.destroyed) socket.write("x");
        if (i === 2) expect((await client.list({ kind: Kind.VM_CLASS })).resources).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await done;
      expect(open).toBe(false);
    } finally {
      client.close();
    }
  });

  it("refuses connections beyond --max-connections, logging it, and serves the open ones", async () => {
    const m = await manager(["--max-connections", "10"]);
    const client = createServiceClient(ManagerService, m.url, { retry: false });
    const held: Socket[] = [];
    try {
      await client.list({ kind: Kind.VM_CLASS });
      for (let i = 0; i < 9; i++) held.push(await openSocket(m));
      const refused = await Promise.all(
        Array.from({ length: 5 }, async () => closed(await openSocket(m))),
      );
      expect(refused).toEqual(["", "", "", "", ""]);
      expect((await client.list({ kind: Kind.VM_CLASS })).resources).toEqual([]);
      await eventually(() =>
        m.logs.find((l) => String(l["msg"]).startsWith("refusing connections")),
      );
      for (const socket of held) socket.destroy();
      const late = createServiceClient(ManagerService, m.url, { retry: false });
      try {
        await eventually(() => late.list({ kind: Kind.VM_CLASS }).catch(() => undefined));
      } finally {
        late.close();
      }
    } finally {
      for (const socket of held) socket.destroy();
      client.close();
    }
  });
});

describe("watches whose clients fall behind", () => {
  let m: ServerProcess;
  let client: ServiceClient<typeof ManagerService>;
  // A write timeout longer than any churn here: on a loaded machine the churn outlasts the
  // default 30 s, and the stalled stream would be abandoned for it before it fell behind.
  const watchLimits = [
    "--watch-max-pending",
    "100",
    "--watch-max-pending-bytes",
    "1Mi",
    "--write-timeout",
    "5m",
  ];
  beforeAll(async () => {
    m = await manager(watchLimits);
    client = createServiceClient(ManagerService, m.url, { retry: false });
  });
  afterAll(() => client.close());

  /** Applies `count` versions of VMClass `name`, each with an annotation of `bytes`. */
  // Hundreds of applies of tens to hundreds of KB: tens of seconds on a busy 2-core machine.
  const churnTimeoutMs = 180_000;
  async function churn(name: string, count: number, bytes: number, via = client): Promise<string> {
    let rv = "";
    for (let i = 0; i < count; i++) {
      const { resource } = await via.apply({
        resource: vmClass(name, { annotations: { n: `${i}:${"x".repeat(bytes)}` } }),
      });
      rv = resource?.kind.value?.metadata?.resourceVersion ?? "";
    }
    return rv;
  }
  const openWatches = async (on = m) =>
    metricValue(await scrape(on), "virtrigaud_manager_watches") ?? Number.NaN;

  it(
    "ends a watch that falls behind with RESOURCE_EXHAUSTED; it resumes from its last version without a gap",
    async () => {
      await client.apply({ resource: vmClass("slow") });
      // A Connect stream over HTTP/2 that the client stops reading after the first event.
      const session = connectHttp2(m.url);
      session.on("error", () => {});
      const stream = session.request({
        ":method": "POST",
        ":path": "/virtrigaud.manager.v1.ManagerService/Watch",
        "content-type": "application/connect+json",
        "connect-protocol-version": "1",
      });
      const request = Buffer.from(JSON.stringify({ kind: "KIND_VM_CLASS", name: "slow" }));
      stream.end(envelope(request));
      const received: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => received.push(chunk));
      await eventually(() => received.length > 0);
      stream.pause();
      const last = await churn("slow", 300, 16_384);
      await eventually(async () => (await openWatches()) === 0);
      expect(m.logs.some((l) => l["msg"] === "watch ended: its client fell behind")).toBe(true);
      // Read on: what was sent, then the end of the stream.
      stream.resume();
      await new Promise((resolve) => stream.once("end", resolve));
      session.close();
      const frames = connectFrames(Buffer.concat(received));
      const events = frames.filter((f) => !f.end).map((f) => f.json as { resourceVersion: string });
      const end = frames.at(-1)?.json as { error?: { code: string; message: string } };
      const seen = events.at(-1)?.resourceVersion ?? "";
      expect(end.error?.code).toBe("resource_exhausted");
      expect(end.error?.message).toContain(`watch again from resourceVersion ${seen}`);
      expect(Number(seen)).toBeLessThan(Number(last));

      // Resumed from there, it sees the rest, up to the last change.
      let resumed = seen;
      for await (const event of client.watch({
        kind: Kind.VM_CLASS,
        name: "slow",
        resourceVersion: seen,
      })) {
        expect(Number(event.resourceVersion)).toBeGreaterThan(Number(resumed));
        resumed = event.resourceVersion;
        if (resumed === last) break;
      }
      expect(resumed).toBe(last);
    },
    churnTimeoutMs,
  );

  it(
    "vrtg get -w carries on through it",
    async () => {
      await client.apply({ resource: vmClass("paused") });
      const watcher = spawnVrtg(m.url, ["get", "vmclasses", "-w"]);
      try {
        await eventually(() => watcher.stdout().includes("paused"));
        const fellBehind = () =>
          m.logs.filter((l) => l["msg"] === "watch ended: its client fell behind").length;
        const before = fellBehind();
        watcher.child.kill("SIGSTOP");
        // More than the kernel's socket buffers and HTTP/2 windows take.
        await churn("paused", 400, 64_000);
        // Its watch was ended while it could not read...
        // 400 writes of 64 KB to SQLite take long on a loaded machine: wait up to a minute.
        await eventually(() => fellBehind() > before, 60_000);
        watcher.child.kill("SIGCONT");
        // ...and it watches again.
        await eventually(async () => (await openWatches()) === 1);
        await client.apply({ resource: vmClass("after-the-gap") });
        await eventually(() => watcher.stdout().includes("after-the-gap"));
        expect(watcher.child.exitCode).toBeNull();
      } finally {
        watcher.child.kill("SIGCONT");
        watcher.child.kill("SIGTERM");
        await watcher.result;
      }
    },
    churnTimeoutMs,
  );

  it(
    "holds a bounded backlog for a client that stopped reading and lets SIGTERM end the process",
    async () => {
      // A manager of its own, since this test ends it: a retried test of this block
      // (CI retries a failed test after the block's others) still needs the shared one.
      const own = await manager(watchLimits);
      const ownClient = createServiceClient(ManagerService, own.url, { retry: false });
      // A Connect watch over HTTP/1.1 on a raw socket that reads its first bytes, then stops.
      const frame = envelope(
        toBinary(WatchRequestSchema, create(WatchRequestSchema, { kind: Kind.VM_CLASS })),
      );
      const socket = await openSocket(own);
      socket.on("error", () => {});
      try {
        socket.write(
          "POST /virtrigaud.manager.v1.ManagerService/Watch HTTP/1.1\r\nHost: x\r\n" +
            "Content-Type: application/connect+proto\r\nConnect-Protocol-Version: 1\r\n" +
            `Content-Length: ${frame.byteLength}\r\n\r\n`,
        );
        socket.write(frame);
        await new Promise((resolve) => socket.once("data", resolve));
        socket.pause();
        expect(await openWatches(own)).toBe(1);
        const before = memory(own, "VmRSS");
        // 200 MB of changes the client never reads.
        await churn("stalled", 1000, 200_000, ownClient);
        expect(memory(own, "VmRSS") - before).toBeLessThan(100 * MiB);
        await eventually(async () => (await openWatches(own)) === 0);
        // The socket still waits on a write that cannot finish; SIGTERM ends the process anyway.
        expect(await own.stop("SIGTERM")).toBe(0);
      } finally {
        socket.destroy();
        ownClient.close();
      }
    },
    churnTimeoutMs,
  );
});
