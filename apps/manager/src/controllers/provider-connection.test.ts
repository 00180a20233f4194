import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError, createLogger } from "@virtrigaud/contracts";
import { turnBudgetMs } from "@virtrigaud/contracts/server";
import {
  type TestServer,
  busyFor,
  countTurns,
  startTestServer,
} from "@virtrigaud/contracts/testing";
import { CircuitState } from "@virtrigaud/proto/manager";
import { ProviderConnection } from "./provider-connection.js";

// A provider whose Describe is down while `down` is set; everything else answers.
let down = false;
let describes = 0;
let test: TestServer;
beforeAll(async () => {
  test = await startTestServer({
    validate: () => Promise.resolve({ message: "ok" }),
    getCapabilities: () => Promise.resolve({ capabilities: { providerType: "stub" } }),
    create: () => Promise.resolve({ vmId: "vm-1" }),
    delete: () => Promise.resolve({}),
    power: () => Promise.resolve({}),
    reconfigure: () => Promise.resolve({}),
    describe: () => {
      describes++;
      return down
        ? Promise.reject(ProviderError.unavailable("describe is down"))
        : Promise.resolve({ exists: true });
    },
    listVMs: () => Promise.resolve({}),
    getTask: () => Promise.resolve({ task: { id: "t", done: true } }),
  });
});
afterAll(() => test.close());

const quiet = createLogger({ level: "silent" });

let conn: ProviderConnection | undefined;
afterEach(() => {
  conn?.close();
  down = false;
  describes = 0;
});

it("opens the circuit after three failed calls (not attempts), refuses calls unsent, and a passing probe closes it", async () => {
  const opened: string[] = [];
  const reported: Array<[string, ErrorReason | undefined]> = [];
  conn = new ProviderConnection({
    name: "ns/stub",
    endpoint: test.server.url,
    logger: quiet,
    onCircuitOpened: (reason) => opened.push(reason),
    onCall: (method, error) =>
      reported.push([method, error === undefined ? undefined : ProviderError.from(error).reason]),
  });
  down = true;
  for (let i = 0; i < 3; i++) {
    const error = await conn.client.describe({ vmId: "vm-1" }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAVAILABLE)).toBe(true);
    expect(conn.circuit).toBe(i < 2 ? CircuitState.CLOSED : CircuitState.OPEN);
  }
  // Each call was tried three times, and counted once.
  expect(describes).toBe(9);
  expect(conn.calls.get("describe")).toBe(3);
  expect(reported).toEqual([
    ["describe", ErrorReason.UNAVAILABLE],
    ["describe", ErrorReason.UNAVAILABLE],
    ["describe", ErrorReason.UNAVAILABLE],
  ]);
  expect(opened).toEqual(["describe is down"]);

  const refused = await conn.client.describe({ vmId: "vm-1" }).catch((e: unknown) => e);
  expect(ProviderError.is(refused, ErrorReason.UNAVAILABLE)).toBe(true);
  expect((refused as ProviderError).rawMessage).toBe(
    "provider ns/stub is unavailable (circuit open): describe is down",
  );
  expect(describes).toBe(9);
  expect(conn.calls.get("describe")).toBe(3);

  down = false;
  expect(await conn.probe()).toBe("ok");
  expect(conn.circuit).toBe(CircuitState.CLOSED);
  expect(conn.calls.get("validate")).toBe(1);
  // The deprecated shim goes through the same interceptors.
  expect(await conn.client.describe({ vmId: "vm-1" })).toMatchObject({ exists: true });
  expect(conn.calls.get("describe")).toBe(4);
  expect(opened).toHaveLength(1);
});

it("a failed probe keeps the circuit open without counting toward it, and is not refused", async () => {
  const opened: string[] = [];
  conn = new ProviderConnection({
    name: "ns/stub",
    endpoint: "http://127.0.0.1:1",
    failureThreshold: 1,
    logger: quiet,
    onCircuitOpened: (reason) => opened.push(reason),
  });
  await expect(conn.client.getCapabilities({})).rejects.toThrow(/cannot be reached/);
  expect(conn.circuit).toBe(CircuitState.OPEN);
  await expect(conn.probe()).rejects.toThrow(/cannot be reached/);
  expect(conn.circuit).toBe(CircuitState.OPEN);
  expect(conn.calls.get("validate")).toBe(1);
  expect(opened).toHaveLength(1);
});

it("ends calls in flight when the connection closes", async () => {
  conn = new ProviderConnection({ name: "ns/stub", endpoint: test.server.url, logger: quiet });
  const pending = conn.client.getTask({ task: { id: "t" } }).catch((e: unknown) => e);
  conn.close();
  const error = await pending;
  expect(ProviderError.is(error, ErrorReason.CANCELED)).toBe(true);
});

it("resumes callers from a burst of answers over several turns of the event loop", async () => {
  conn = new ProviderConnection({ name: "ns/stub", endpoint: test.server.url, logger: quiet });
  await conn.client.describe({ vmId: "vm-1" }); // The connection is up before the burst.
  const turns = countTurns();
  try {
    // Forty answers read together; what each caller does next takes a fifth of a turn's budget.
    const resumedIn = await Promise.all(
      Array.from({ length: 40 }, async () => {
        await conn?.client.describe({ vmId: "vm-1" });
        const at = turns.now;
        busyFor(turnBudgetMs / 5);
        return at;
      }),
    );
    // All in the turn that read them would hold the loop for 8 budgets at once.
    expect(new Set(resumedIn).size).toBeGreaterThanOrEqual(5);
  } finally {
    turns.stop();
  }
});

it("admits as many reconciles at once as calls may be in flight, the rest in order, and ends the waiting ones when it closes", async () => {
  const admitting = new ProviderConnection({
    name: "ns/stub",
    endpoint: test.server.url,
    concurrency: 2,
    logger: quiet,
  });
  conn = admitting;
  const started: number[] = [];
  const finish: Array<() => void> = [];
  let running = 0;
  let most = 0;
  const reconcile = (i: number) => () => {
    started.push(i);
    most = Math.max(most, ++running);
    return new Promise<number>((resolve) =>
      finish.push(() => {
        running--;
        resolve(i);
      }),
    );
  };
  const results = [0, 1, 2, 3, 4].map((i) => admitting.admitReconcile(reconcile(i)));
  await new Promise((resolve) => setImmediate(resolve));
  expect(started).toEqual([0, 1]);
  finish.shift()?.();
  await expect(results[0]).resolves.toBe(0);
  await new Promise((resolve) => setImmediate(resolve));
  expect(started).toEqual([0, 1, 2]);
  finish.shift()?.();
  finish.shift()?.();
  await Promise.all(results.slice(1, 3));
  await new Promise((resolve) => setImmediate(resolve));
  expect(started).toEqual([0, 1, 2, 3, 4]);
  expect(most).toBe(2);

  // Two hold the slots; a third waits, and the connection closes under it.
  const waiting = admitting.admitReconcile(reconcile(5)).catch((e: unknown) => e);
  admitting.close();
  const error = await waiting;
  expect(ProviderError.is(error, ErrorReason.CANCELED)).toBe(true);
  expect(started).not.toContain(5);
  for (const f of finish.splice(0)) f();
  await expect(Promise.all(results.slice(3))).resolves.toEqual([3, 4]);
});
