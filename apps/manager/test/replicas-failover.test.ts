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
  providerVms,
  readCallLog,
  readyz,
  resourcesOf,
  spawnReplica,
  storedVms,
} from "./replicas.js";

// kill -9 of the leading manager while it creates 200 VMs, with the default
// lease (15 s, renewed every 5 s): another takes over, and the provider ends
// with exactly the 200 VMs, each once.
const vmCount = 200;
const dir = mkdtempSync(join(tmpdir(), "vrtg-replicas-failover-"));
const callLog = join(dir, "calls.jsonl");
let db: TestDatabase;
let mock: ServerProcess;
const replicas: Replica[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // Every task takes 2 s, so creates are under way when the leader dies.
  mock = await spawnMock(["--latency", "2s", "--call-log", callLog]);
  for (const id of ["a", "b", "c"]) replicas.push(await spawnReplica(db.url, id));
}, 90_000);

afterAll(async () => {
  // The killed one has exited; stop() of an exited process would wait for an exit already past.
  await Promise.all(
    replicas
      .filter((r) => r.child.exitCode === null && r.child.signalCode === null)
      .map((r) => r.stop()),
  );
  await mock?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it("survives kill -9 of the leader during 200 creates: another takes over, and every VM is made once", async () => {
  const leader = await eventually(() => leaderAmong(replicas), 20_000, "a leader");
  const oldTerm = (await readyz(leader)).leader?.term;
  const follower = replicas.find((r) => r !== leader)!;
  const survivors = replicas.filter((r) => r !== leader);

  // Applied through a follower, which the kill leaves serving.
  const client = managerClient(follower);
  try {
    for (const resource of resourcesOf(stack(mock.url))) await client.apply({ resource });
    const vms = Array.from({ length: vmCount }, (_, i) => `vm-${String(i).padStart(3, "0")}`);
    await Promise.all(
      vms.map(async (name) => {
        const [resource] = resourcesOf(vmManifest(name));
        await client.apply({ resource: resource! });
      }),
    );
  } finally {
    client.close();
  }

  const creates = (term: string | undefined) =>
    readCallLog(callLog).filter((c) => c.method === "Create" && c.term === term);
  await eventually(() => creates(oldTerm).length >= 20, 30_000, "the leader's first creates");
  const killedAt = Date.now();
  await leader.stop("SIGKILL");
  const createsBeforeKill = creates(oldTerm).length;

  const successor = await eventually(() => leaderAmong(survivors), 30_000, "a new leader");
  const newTerm = (await readyz(successor)).leader?.term;
  expect(BigInt(newTerm ?? "0")).toBeGreaterThan(BigInt(oldTerm ?? "0"));
  const firstCall = await eventually(
    () => readCallLog(callLog).find((c) => c.term === newTerm),
    30_000,
    "the new term's first provider call",
  );
  const failoverMs = firstCall.at - killedAt;
  const firstCreate = await eventually(() => creates(newTerm)[0], 30_000, "the new term's Create");
  process.stdout.write(
    `failover: kill -9 of ${leader.id} (term ${oldTerm}) to ${successor.id}'s first provider call (term ${newTerm}, ${firstCall.method}): ${failoverMs} ms, to its first Create: ${firstCreate.at - killedAt} ms; ${createsBeforeKill} creates by term ${oldTerm} before the kill\n`,
  );
  expect(failoverMs).toBeLessThan(20_000);
  expect(firstCreate.at - killedAt).toBeLessThan(20_000);

  const stored = await eventually(
    async () => {
      const list = await storedVms(successor);
      return list.length === vmCount && list.every(isReady) && list;
    },
    150_000,
    `${vmCount} VMs Ready`,
  );
  const atProvider = await providerVms(mock.url);
  const names = atProvider.map((vm) => vm.name);
  expect(new Set(names).size).toBe(names.length);
  expect(atProvider).toHaveLength(vmCount);
  // None orphaned: each VM at the provider is a stored VirtualMachine's, by its uid label.
  const uids = new Set(stored.map((vm) => vm.metadata?.uid));
  const orphans = atProvider.filter((vm) => !uids.has(vm.labels["virtrigaud.io/uid"]));
  expect(orphans.map((vm) => vm.name)).toEqual([]);

  const calls = readCallLog(callLog).filter((c) => c.method === "Create");
  process.stdout.write(
    `creates: ${calls.filter((c) => c.term === oldTerm).length} by term ${oldTerm}, ${calls.filter((c) => c.term === newTerm).length} by term ${newTerm}, ${vmCount} VMs at the provider\n`,
  );
}, 240_000);
