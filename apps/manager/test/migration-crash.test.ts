import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, jest } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  ConditionStatus,
  Kind,
  ManagerService,
  MigrationPhase,
  type VMMigration,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { fromResource } from "../src/manifest/kinds.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { migrationManifest, migrationStack, phaseReached } from "./migration-fixtures.js";
import {
  type ServerProcess,
  eventually,
  providerCalls,
  spawnManager,
  spawnMock,
} from "./processes.js";

jest.setTimeout(180_000);

const chunk = 2 * 1024 * 1024;

describe("VMMigration and a manager killed mid-transfer", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-migration-crash-"));
  const processes: ServerProcess[] = [];
  afterAll(async () => {
    for (const p of processes) await p.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("resumes from what the target holds after kill -9 and finishes, sending few bytes twice", async () => {
    const source = await spawnMock(["--disk-bytes", "64Mi"]);
    // Slow writes: the copy takes seconds, and the kill lands in the middle of a disk.
    const target = await spawnMock([
      "--disk-bytes",
      "64Mi",
      "--fault",
      "diskImportWrite:delay:delayMs=250",
    ]);
    processes.push(source, target);
    const data = join(dir, "data");
    const args = ["--health-interval", "500ms", "--drift-page-interval", "300ms"];
    let manager = await spawnManager(data, args);
    processes.push(manager);
    const connect = (url: string) => createServiceClient(ManagerService, url);
    let client = connect(manager.url);
    const get = async (kind: Kind, name: string) =>
      fromResource((await client.get({ kind, namespace: "default", name })).resource)?.message;
    // The VM first: the migration validates a Ready source.
    for (const { manifest } of parseManifests(migrationStack(source.url, target.url), "crash"))
      await client.apply({ resource: decodeManifest(manifest) });
    await eventually(
      async () => {
        const vm = (await get(Kind.VIRTUAL_MACHINE, "web")) as VirtualMachine | undefined;
        return vm?.status?.conditions.some(
          (c) => c.type === "Ready" && c.status === ConditionStatus.TRUE,
        );
      },
      30_000,
      "web Ready",
    );
    for (const { manifest } of parseManifests(
      migrationManifest("web-to-kvm", "web", "web-kvm"),
      "crash",
    ))
      await client.apply({ resource: decodeManifest(manifest) });

    // Kill once the first disk is partly held by the target, as persisted.
    const atKill = await eventually(
      async () => {
        const m = (await get(Kind.VM_MIGRATION, "web-to-kvm")) as VMMigration | undefined;
        const root = m?.status?.disks[0];
        return root && root.verifiedOffset > 0n && !root.committed ? m : undefined;
      },
      60_000,
      "the first disk partly transferred",
    );
    await manager.stop("SIGKILL");
    client.close();
    const persisted = atKill.status?.disks[0]?.verifiedOffset ?? 0n;

    manager = await spawnManager(data, args);
    processes.push(manager);
    client = connect(manager.url);
    const done = await phaseReached(
      async () => (await get(Kind.VM_MIGRATION, "web-to-kvm")) as VMMigration | undefined,
      MigrationPhase.READY,
      120_000,
    );
    const disks = done.status?.disks ?? [];
    for (const d of disks) expect(d.targetChecksum).toBe(d.sourceChecksum);

    // The restarted manager resumed the first disk from the target's received_bytes.
    const events = await client.listEvents({
      namespace: "default",
      kind: Kind.VM_MIGRATION,
      name: "web-to-kvm",
    });
    const resumed = events.events
      .filter((e) => e.reason === "DiskTransferred" && e.message.startsWith("disk root:"))
      .map((e) => Number(/resumed from (\d+)/.exec(e.message)?.[1] ?? "-1"));
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toBeGreaterThanOrEqual(Number(persisted));

    // Bytes sent twice, as the target counts its writes: every write beyond one per chunk.
    const writes = (await providerCalls(target.opsUrl ?? ""))["DiskImportWrite"] ?? 0;
    const needed = disks.reduce((n, d) => n + Math.ceil(Number(d.sizeBytes) / chunk), 0);
    const twice = (writes - needed) * chunk;
    process.stdout.write(
      `migration resumed after kill -9: root disk ${Number(disks[0]?.sizeBytes)} bytes, ` +
        `verified ${Number(persisted)} as persisted at the kill, resumed from ${resumed[0]}; ` +
        `${writes} writes for ${needed} chunks: ${twice} bytes sent twice\n`,
    );
    // At most the chunks in flight at the kill (the copier keeps 4) and those the target held
    // beyond the persisted offset are sent again.
    expect(twice).toBeGreaterThanOrEqual(0);
    expect(twice).toBeLessThanOrEqual(8 * chunk);
    client.close();
  });
});
