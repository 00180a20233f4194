import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { Kind, WatchEventType } from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type TestDatabase, createTestDatabase, restartPostgres } from "./postgres.js";
import { type ServerProcess, eventually, spawnMock } from "./processes.js";
import {
  type Replica,
  isReady,
  leaderAmong,
  managerClient,
  readyz,
  replicaReport,
  resourcesOf,
  spawnReplica,
  storedVms,
} from "./replicas.js";

// PostgreSQL restarted while three managers take applies and serve a watch:
// every manager reconnects, every acknowledged apply is kept, and a watch that
// resumes from its last resourceVersion sees every change.
const vmCount = 60;
const lease = ["--lease-duration", "6s", "--lease-renew-interval", "2s"];
let db: TestDatabase;
let mock: ServerProcess;
const replicas: Replica[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await spawnMock(["--latency", "200ms"]);
  for (const id of ["a", "b", "c"]) replicas.push(await spawnReplica(db.url, id, lease));
}, 90_000);

afterAll(async () => {
  const running = replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  // A manager that exited on its own is the failure: say how.
  if (running.length < replicas.length) process.stdout.write(`${replicaReport(replicas)}\n`);
  await Promise.all(running.map((r) => r.stop()));
  await mock?.stop();
  await db?.drop();
}, 60_000);

/** What a watch that resumes from its last resourceVersion saw. */
interface ResumingWatch {
  names: Set<string>;
  versions: bigint[];
  reconnects: number;
  /** Ends the current stream, as a lost connection would; the watch resumes. */
  interrupt(): void;
  stop(): Promise<void>;
}

/** Watches VirtualMachines through `replica`, reconnecting from the last resourceVersion it saw. */
function watchResuming(replica: Replica, from: string): ResumingWatch {
  const abort = new AbortController();
  let stream = new AbortController();
  const seen: ResumingWatch = {
    names: new Set(),
    versions: [],
    reconnects: 0,
    interrupt: () => stream.abort(),
    stop: async () => {
      abort.abort();
      await running;
    },
  };
  let resourceVersion = from;
  const running = (async () => {
    while (!abort.signal.aborted) {
      const client = managerClient(replica);
      stream = new AbortController();
      try {
        for await (const event of client.watch(
          { kind: Kind.VIRTUAL_MACHINE, resourceVersion },
          { signal: AbortSignal.any([abort.signal, stream.signal]) },
        )) {
          resourceVersion = event.resourceVersion;
          if (event.type === WatchEventType.BOOKMARK) continue;
          seen.versions.push(BigInt(event.resourceVersion));
          const name =
            event.resource?.kind.case === "virtualMachine"
              ? event.resource.kind.value.metadata?.name
              : undefined;
          if (name) seen.names.add(name);
        }
      } catch {
        // Ended by the restart or by stop(): resume from the last version seen.
      } finally {
        client.close();
      }
      if (!abort.signal.aborted) {
        seen.reconnects++;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();
  return seen;
}

it("keeps every acknowledged apply and resumes watches across a PostgreSQL restart", async () => {
  const [a, , c] = replicas as [Replica, Replica, Replica];
  const setup = managerClient(a);
  let from: string;
  try {
    for (const resource of resourcesOf(stack(mock.url))) await setup.apply({ resource });
    from = (await setup.list({ kind: Kind.VIRTUAL_MACHINE })).resourceVersion;
  } finally {
    setup.close();
  }
  const watch = watchResuming(c, from);

  // Applies round-robin over the three managers, four at a time; each is
  // retried until acknowledged, as a client would.
  const acknowledged: string[] = [];
  let refused = 0;
  let restarted: Promise<void> | undefined;
  const names = Array.from({ length: vmCount }, (_, i) => `vm-${String(i).padStart(2, "0")}`);
  const queue = [...names.entries()];
  const applyOne = async (index: number, name: string) => {
    const [resource] = resourcesOf(vmManifest(name));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const client = managerClient(replicas[(index + refused) % replicas.length]!);
      try {
        await client.apply({ resource: resource! }, { timeoutMs: 5000 });
        acknowledged.push(name);
        return;
      } catch (err) {
        refused++;
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        client.close();
      }
    }
  };
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (acknowledged.length >= vmCount / 3 && !restarted) {
          restarted = restartPostgres();
          // The client loses its stream too, and resumes from the last version it saw.
          watch.interrupt();
        }
        await applyOne(next[0], next[1]);
        // Spread over a second or two, so applies come before, during and after the restart.
        await new Promise((r) => setTimeout(r, 50));
      }
    }),
  );
  await restarted;
  expect(restarted).toBeDefined();
  expect(refused).toBeGreaterThan(0);
  expect(acknowledged).toHaveLength(vmCount);

  // Every manager is back: serving, agreeing on one leader, listing every VM.
  const leader = await eventually(() => leaderAmong(replicas), 30_000, "a leader");
  for (const replica of replicas) {
    await eventually(
      async () => {
        const status = await readyz(replica);
        return status.status === "SERVING" && status.leader?.replica === leader.id;
      },
      30_000,
      `${replica.id} serving and following ${leader.id}`,
    );
    const stored = await eventually(
      async () => {
        const list = await storedVms(replica);
        return list.length === vmCount && list;
      },
      30_000,
      `${replica.id} to list ${vmCount} VMs`,
    );
    expect(stored.map((vm) => vm.metadata?.name).sort()).toEqual(names);
  }

  // The watch saw every VM, in resourceVersion order, without a repeat.
  await eventually(() => names.every((n) => watch.names.has(n)), 30_000, "the watch to see all");
  expect(watch.reconnects).toBeGreaterThan(0);
  const versions = watch.versions;
  expect(versions.every((v, i) => i === 0 || v > versions[i - 1]!)).toBe(true);

  // And the controllers, on whichever manager leads now, made them all.
  await eventually(
    async () => (await storedVms(leader)).filter(isReady).length === vmCount,
    90_000,
    `${vmCount} VMs Ready`,
  );
  await watch.stop();
  process.stdout.write(
    `postgres restart: ${acknowledged.length} applies acknowledged, ${refused} refusals retried, watch reconnects ${watch.reconnects}, leader after: ${leader.id}\n`,
  );
}, 240_000);
