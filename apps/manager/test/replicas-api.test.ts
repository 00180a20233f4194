import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { stack, vmManifest } from "./fixtures.js";
import { type TestDatabase, createTestDatabase } from "./postgres.js";
import {
  type ServerProcess,
  eventually,
  metricValue,
  scrape,
  spawnMock,
  spawnVrtg,
  vrtg,
} from "./processes.js";
import { type Replica, leaderAmong, readyz, spawnReplica } from "./replicas.js";

// Three managers on one database, each a process of its own: what one
// accepts, the others serve.
const dir = mkdtempSync(join(tmpdir(), "vrtg-replicas-api-"));
let db: TestDatabase;
let mock: ServerProcess;
const replicas: Replica[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  mock = await spawnMock(["--latency", "50ms"]);
  for (const id of ["a", "b", "c"]) replicas.push(await spawnReplica(db.url, id));
  writeFileSync(join(dir, "stack.yaml"), stack(mock.url));
  writeFileSync(join(dir, "vm.yaml"), vmManifest("web-1"));
}, 90_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await mock?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it("applies through one manager, shows it to a watch on another and to a list on the third", async () => {
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  const watch = spawnVrtg(b.url, ["get", "vm", "-w"]);
  try {
    // Open before the apply: b sees the change come, not a list of what was there.
    await eventually(
      async () => (metricValue(await scrape(b), "rpc_server_active_requests") ?? 0) >= 1,
      10_000,
      "b's watch to open",
    );
    const applied = await vrtg(a.url, [
      "apply",
      "-f",
      join(dir, "stack.yaml"),
      "-f",
      join(dir, "vm.yaml"),
    ]);
    expect(applied).toMatchObject({ code: 0, stderr: "" });
    expect(applied.stdout).toContain("virtualmachine/web-1 created");

    await eventually(() => /web-1/.test(watch.stdout()), 10_000, "b's watch to show web-1");
    // Whichever manager leads runs the controllers: b's watch sees it Running.
    await eventually(() => /web-1\s+Running\s+True/.test(watch.stdout()), 30_000, "web-1 Ready");

    const listed = await vrtg(c.url, ["get", "vm"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/web-1\s+Running\s+True\s+mock/);
  } finally {
    watch.child.kill("SIGTERM");
    await watch.result;
  }

  // One of the three leads, and all three say which.
  const leader = await eventually(() => leaderAmong(replicas), 20_000, "a leader");
  for (const replica of replicas) {
    expect(await readyz(replica)).toMatchObject({
      status: "SERVING",
      replica: replica.id,
      leading: replica === leader,
      leader: { replica: leader.id },
    });
  }
}, 90_000);
