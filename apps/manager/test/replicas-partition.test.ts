import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { stack, vmManifest } from "./fixtures.js";
import { type TestDatabase, createTestDatabase } from "./postgres.js";
import { type ServerProcess, eventually, spawnMock } from "./processes.js";
import {
  type Replica,
  isReady,
  leaderAmong,
  managerClient,
  mutatingMethods,
  providerVms,
  readCallLog,
  readLease,
  readyz,
  resourcesOf,
  spawnReplica,
  storedVms,
  withPort,
} from "./replicas.js";
import { type StallingTcpProxy, startStallingTcpProxy } from "./stalling-tcp-proxy.js";

// The leader cut off from PostgreSQL by a proxy that goes silent, while it
// creates VMs: the provider's call log, with each call's term, shows that it
// changed nothing after its lease could have passed to another manager.
const vmCount = 60;
const lease = ["--lease-duration", "6s", "--lease-renew-interval", "2s"];
const dir = mkdtempSync(join(tmpdir(), "vrtg-replicas-partition-"));
const callLog = join(dir, "calls.jsonl");
let db: TestDatabase;
let mock: ServerProcess;
let proxy: StallingTcpProxy;
let cutOff: Replica;
const others: Replica[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await spawnMock(["--latency", "1s", "--call-log", callLog]);
  proxy = await startStallingTcpProxy({
    host: "127.0.0.1",
    port: Number(new URL(db.url).port),
  });
  // Started first, it takes the lease; the others reach PostgreSQL directly.
  // Few workers, so creates are still queued when the path goes silent.
  cutOff = await spawnReplica(withPort(db.url, proxy.port), "cut-off", [
    ...lease,
    "--vm-workers",
    "4",
  ]);
  await eventually(async () => (await readyz(cutOff)).leading, 20_000, "cut-off to lead");
  for (const id of ["b", "c"]) others.push(await spawnReplica(db.url, id, lease));
}, 90_000);

afterAll(async () => {
  proxy?.heal();
  await Promise.all([cutOff, ...others].filter(Boolean).map((r) => r.stop()));
  await proxy?.close();
  await mock?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it("a leader cut off from PostgreSQL calls no provider after its lease could pass, and rejoins as a follower", async () => {
  const oldTerm = (await readyz(cutOff)).leader?.term;
  const client = managerClient(others[0]!);
  try {
    for (const resource of resourcesOf(stack(mock.url))) await client.apply({ resource });
    await Promise.all(
      Array.from({ length: vmCount }, async (_, i) => {
        const [resource] = resourcesOf(vmManifest(`vm-${String(i).padStart(2, "0")}`));
        await client.apply({ resource: resource! });
      }),
    );
  } finally {
    client.close();
  }
  await eventually(
    () =>
      readCallLog(callLog).filter((c) => c.method === "Create" && c.term === oldTerm).length >= 5,
    30_000,
    "the leader's first creates",
  );

  proxy.stall();
  const stalledAt = Date.now();
  // Until another takes over, the row still has the old term's last expiry.
  const cutLease = await readLease(db.url);
  expect(cutLease).toMatchObject({ holder: "cut-off", term: BigInt(oldTerm ?? "0") });
  const expiredAt = cutLease!.expiresAt;

  const successor = await eventually(() => leaderAmong(others), 30_000, "another leader");
  const taken = await readLease(db.url);
  expect(taken?.holder).toBe(successor.id);
  expect(taken!.term).toBeGreaterThan(BigInt(oldTerm ?? "0"));
  // A takeover waits for the expiry, on PostgreSQL's clock.
  expect(taken!.acquiredAt).toBeGreaterThanOrEqual(expiredAt);

  // Everything the old term sent, once the new term is at work.
  await eventually(
    () => readCallLog(callLog).some((c) => c.term === String(taken!.term)),
    20_000,
    "the new term's first call",
  );
  const byOldTerm = readCallLog(callLog).filter((c) => c.term === oldTerm);
  const afterStall = byOldTerm.filter((c) => c.at >= stalledAt);
  const afterExpiry = byOldTerm.filter((c) => c.at >= expiredAt);
  const lastOld = byOldTerm.at(-1)?.at ?? 0;
  process.stdout.write(
    `partition: term ${oldTerm} made ${byOldTerm.length} provider calls (${byOldTerm.filter((c) => mutatingMethods.has(c.method)).length} mutating), ` +
      `${afterStall.length} after the stall (${afterStall.filter((c) => mutatingMethods.has(c.method)).length} mutating), ` +
      `${afterExpiry.length} after its lease could pass (${afterExpiry.filter((c) => mutatingMethods.has(c.method)).length} mutating); ` +
      `its last call ${lastOld - stalledAt} ms after the stall, its lease expired ${expiredAt - stalledAt} ms after it, ` +
      `term ${taken!.term} began ${taken!.acquiredAt - stalledAt} ms after it\n`,
  );
  expect(afterExpiry.filter((c) => mutatingMethods.has(c.method))).toEqual([]);
  expect(afterExpiry).toEqual([]);
  // The cut-off manager knows it no longer leads, though it cannot reach PostgreSQL.
  expect((await readyz(cutOff)).leading).toBe(false);

  proxy.heal();
  await eventually(
    async () => {
      const status = await readyz(cutOff);
      return !status.leading && status.leader?.replica === successor.id;
    },
    30_000,
    "cut-off to follow the new leader",
  );

  // The work goes on under the new term: every VM once at the provider, all Ready.
  const stored = await eventually(
    async () => {
      const list = await storedVms(cutOff);
      return list.length === vmCount && list.every(isReady) && list;
    },
    90_000,
    `${vmCount} VMs Ready, as the rejoined manager lists them`,
  );
  const atProvider = await providerVms(mock.url);
  expect(atProvider).toHaveLength(vmCount);
  const uids = new Set(stored.map((vm) => vm.metadata?.uid));
  expect(atProvider.filter((vm) => !uids.has(vm.labels["virtrigaud.io/uid"]))).toEqual([]);
}, 240_000);
