import { execFile } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { Kind, ManagerService, WatchEventType } from "@virtrigaud/proto/manager";
import { ErrorReason, ProviderError, createLogger } from "../src/index.js";
import { createServiceClient } from "../src/client/index.js";
import {
  type ServerMetrics,
  type ServicesServer,
  createServerMetrics,
  serveServices,
  servedService,
} from "../src/server/index.js";
import { busyFor } from "../src/testing/index.js";

// Server streams through the harness and the generic client, on a real
// socket: typed errors, the end of a stream as the end of its call (logs,
// metrics, drain), deadlines, and a process's own metrics on /metrics.

const lines: string[] = [];
const watchers = new Set<AbortController>();
let drainStarted = 0;
/**
 * The "burst" watch: its message count (small enough that the sockets take
 * every write at once), and how many it had made when the event loop next turned.
 */
const burst = { messages: 600, madeByNextTurn: -1 };
let metrics: ServerMetrics;
let server: ServicesServer;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

beforeAll(async () => {
  metrics = createServerMetrics({ serviceName: "stream-test" });
  metrics.meter("stream-test").createCounter("stream_test_widgets").add(3);
  server = await serveServices({
    listen: "127.0.0.1:0",
    opsListen: "127.0.0.1:0",
    insecure: true,
    handleSignals: false,
    metrics,
    drainTimeoutMs: 60_000,
    onDrain: () => {
      drainStarted++;
      for (const watcher of watchers) watcher.abort();
    },
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
      servedService(ManagerService, {
        async *watch(request, context) {
          if (request.name === "missing") throw ProviderError.notFound("no such resource");
          if (request.name === "burst") {
            // Messages that take 20 us each to make (12 ms in all), none waiting on anything.
            let made = 0;
            setImmediate(() => (burst.madeByNextTurn = made));
            for (; made < burst.messages; made++) {
              busyFor(0.02);
              yield { type: WatchEventType.ADDED, resourceVersion: String(made + 1) };
            }
            return;
          }
          yield { type: WatchEventType.ADDED, resourceVersion: "1" };
          if (request.name === "fails-later") throw ProviderError.conflict("history expired");
          // A watch: the stream stays open until the caller leaves or the drain ends it.
          const watcher = new AbortController();
          watchers.add(watcher);
          try {
            const stop = AbortSignal.any([watcher.signal, context.signal]);
            while (!stop.aborted) await sleep(60_000, stop);
          } finally {
            watchers.delete(watcher);
          }
        },
      }),
    ],
  });
});
afterAll(() => server.close());

const watchLines = () => lines.filter((line) => line.includes('"rpc":"Watch"'));

it("sends what a stream handler throws as the typed error, before or after its first message", async () => {
  const client = createServiceClient(ManagerService, server.url, { peerName: "the manager" });
  try {
    const before = await (async () => {
      for await (const _ of client.watch({ name: "missing" })) void _;
    })().catch((e: unknown) => e);
    expect(ProviderError.is(before, ErrorReason.NOT_FOUND)).toBe(true);
    expect((before as ProviderError).message).toContain("no such resource");

    const seen: string[] = [];
    const after = await (async () => {
      for await (const event of client.watch({ name: "fails-later" }))
        seen.push(event.resourceVersion);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["1"]);
    expect(ProviderError.is(after, ErrorReason.CONFLICT)).toBe(true);
  } finally {
    client.close();
  }
});

it.each(["1.1", "2"] as const)(
  "spreads a stream's messages over turns of the event loop, all in order (HTTP/%s)",
  async (httpVersion) => {
    const client = createServiceClient(ManagerService, server.url, { httpVersion });
    try {
      burst.madeByNextTurn = -1;
      const versions: string[] = [];
      for await (const event of client.watch({ name: "burst" }))
        versions.push(event.resourceVersion);
      expect(versions).toEqual(Array.from({ length: burst.messages }, (_, i) => String(i + 1)));
      // Written in one turn, the whole stream would be made before the loop turned.
      expect(burst.madeByNextTurn).toBeGreaterThan(0);
      expect(burst.madeByNextTurn).toBeLessThan(burst.messages);
    } finally {
      client.close();
    }
  },
);

it("ends a stream's call when the caller stops reading, so it is logged and leaves the drain", async () => {
  const client = createServiceClient(ManagerService, server.url);
  try {
    const logged = watchLines().length;
    for await (const event of client.watch({ name: "web" })) {
      expect(event.type).toBe(WatchEventType.ADDED);
      break;
    }
    while (watchLines().length === logged) await new Promise((r) => setTimeout(r, 10));
    expect(watchLines().at(-1)).toContain('"code":"Canceled"');
    expect(watchers.size).toBe(0);
  } finally {
    client.close();
  }
});

it("fails a stream past its deadline with DEADLINE_EXCEEDED", async () => {
  const client = createServiceClient(ManagerService, server.url);
  try {
    const error = await (async () => {
      for await (const _ of client.watch({ name: "web" }, { timeoutMs: 200 })) void _;
    })().catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.DEADLINE_EXCEEDED)).toBe(true);
  } finally {
    client.close();
  }
});

it("lets a process that abandons a stream with a long deadline exit at once", async () => {
  // A child process: a timer that outlived the stream would keep it alive for a minute.
  const script = `
    import { createServiceClient } from "@virtrigaud/contracts/client";
    import { ManagerService } from "@virtrigaud/proto/manager";
    const client = createServiceClient(ManagerService, process.argv[1]);
    for await (const _ of client.watch({ name: "web" }, { timeoutMs: 60000 })) break;
  `;
  await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, server.url], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    timeout: 20_000,
  });
});

it("names the server in transport errors", async () => {
  const client = createServiceClient(ManagerService, "http://127.0.0.1:1", {
    peerName: "the manager",
    retry: false,
  });
  try {
    const error = await client.get({ kind: Kind.PROVIDER, name: "x" }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAVAILABLE)).toBe(true);
    expect((error as ProviderError).message).toContain(
      "the manager at http://127.0.0.1:1 cannot be reached",
    );
  } finally {
    client.close();
  }
});

it("serves the process's own metrics beside the RPC metrics", async () => {
  const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
  expect(text).toMatch(/^stream_test_widgets(_total)?\{[^}]*\} 3$/m);
  expect(text).toContain("rpc_server_duration_count");
});

it("serves how long the event loop was held up since the last scrape", async () => {
  const scrape = async () => {
    const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
    const max = /^nodejs_eventloop_delay_max\{[^}]*\} (\S+)$/m.exec(text)?.[1];
    const busy = /^nodejs_eventloop_utilization\{[^}]*\} (\S+)$/m.exec(text)?.[1];
    return { max: Number(max), busy: Number(busy) };
  };
  await scrape();
  const blockedUntil = performance.now() + 300;
  while (performance.now() < blockedUntil); // hold the loop, as a long synchronous task would
  await new Promise((r) => setTimeout(r, 50));
  const held = await scrape();
  expect(held.max).toBeGreaterThanOrEqual(0.25);
  expect(held.busy).toBeGreaterThan(0.5);
  // Each scrape reports the time since the one before.
  await new Promise((r) => setTimeout(r, 100));
  expect((await scrape()).max).toBeLessThan(0.25);
});

it("calls onDrain when a drain begins, so open watches end and the drain does not wait for them", async () => {
  const client = createServiceClient(ManagerService, server.url);
  const events: string[] = [];
  const watching = (async () => {
    for await (const event of client.watch({ name: "web" })) events.push(event.resourceVersion);
  })();
  while (watchers.size === 0) await new Promise((r) => setTimeout(r, 10));
  // drainTimeoutMs is a minute: close() returns within the test's timeout only because onDrain ended the watch.
  await server.close();
  await watching;
  client.close();
  expect(drainStarted).toBe(1);
  expect(events).toEqual(["1"]);
});
