import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { Kind, MigrationPhase, type VirtualMachine } from "@virtrigaud/proto/manager";
import { type TestManager, providerClient, startTestManager } from "./harness.js";
import {
  diskDigests,
  migrationManifest,
  migrationOf,
  migrationStack,
  phaseReached,
} from "./migration-fixtures.js";
import { type ServerProcess, eventually, freePort, spawnMock } from "./processes.js";

// Two mock providers and a manager on a shared 2-core machine.
jest.setTimeout(120_000);

describe("VMMigration staged in the manager's staging directory", () => {
  const processes: ServerProcess[] = [];
  const stagingDir = mkdtempSync(join(tmpdir(), "vrtg-staging-"));
  let source: ServerProcess;
  let targetPort: number;
  let tm: TestManager;
  beforeAll(async () => {
    source = await spawnMock(["--disk-bytes", "32Mi"]);
    processes.push(source);
    targetPort = await freePort();
    tm = await startTestManager(undefined, { migrationStagingDir: stagingDir });
    // The target's provider is declared, but nothing listens there yet.
    await tm.apply(migrationStack(source.url, `http://127.0.0.1:${targetPort}`));
    await tm.ready("web");
  });
  afterAll(async () => {
    await tm?.close();
    for (const p of processes) await p.stop("SIGKILL");
    rmSync(stagingDir, { recursive: true, force: true });
  });

  it("stages every disk while the target is down, releases the source, and finishes from the stage once the target is up and the source is gone", async () => {
    const sourceVm = tm.vm("web") as VirtualMachine;
    const held = await diskDigests(providerClient(source.url), sourceVm.status?.id ?? "");
    await tm.apply(
      migrationManifest("web-staged", "web", "web-kvm", "  storage:\n    type: directory\n"),
    );
    const released = await eventually(
      () => {
        const m = migrationOf(tm.manager.store, "web-staged");
        if (m?.status?.phase === MigrationPhase.FAILED) throw new Error(m.status.message);
        // Released, then waiting for the target: the status that says so may come a reconcile later.
        return m?.status?.sourceReleased && m.status.message.includes("is unavailable")
          ? m
          : undefined;
      },
      60_000,
      "every disk staged, the source released, and the migration waiting for the target",
    );
    const status = released.status!;
    expect(status.phase).toBe(MigrationPhase.TRANSFERRING);
    expect(status.message).toContain("is unavailable");
    const uid = released.metadata?.uid ?? "";
    expect(status.storageInfo?.url).toBe(`file://${stagingDir}/${uid}`);
    expect(status.storageInfo?.uploadedAt).toBeDefined();
    // Every disk is in the staging directory, whole: the source's bytes.
    expect(status.disks.map((d) => d.name)).toEqual(["root", "data"]);
    for (const d of status.disks) {
      expect(d.staged).toBe(true);
      expect(d.stagedOffset).toBe(d.sizeBytes);
      expect(d.committed).toBe(false);
      const staged = readFileSync(join(stagingDir, uid, `${d.importId}.raw`));
      expect(createHash("sha256").update(staged).digest("hex")).toBe(d.sourceChecksum);
      expect(d.sourceChecksum).toBe(held[d.name]);
    }
    // Released: the exports are ended and the snapshot the migration took is gone.
    const client = providerClient(source.url);
    await expect(
      client.diskExportRead({ exportId: status.disks[0]?.exportId ?? "", offset: 0n, length: 1 }),
    ).rejects.toThrow();
    expect(
      (await client.snapshotList({ vmId: sourceVm.status?.id ?? "" })).snapshots.map((s) => s.name),
    ).not.toContain(expect.stringMatching(/^migration-/));
    // Staged, there is no final sync to carry what a running guest writes after a snapshot:
    // the source is shut down for a cold export, and an event says why.
    expect(status.snapshotCreated).toBe(false);
    expect(status.sourcePoweredOff).toBe(true);
    expect(await tm.reasons(Kind.VM_MIGRATION, "web-staged")).toContain("ColdMigration");

    // The source goes away for good; the target comes up.
    await source.stop("SIGKILL");
    const target = await spawnMock(["--disk-bytes", "32Mi", "--listen", `127.0.0.1:${targetPort}`]);
    processes.push(target);
    const done = await phaseReached(
      () => migrationOf(tm.manager.store, "web-staged"),
      MigrationPhase.READY,
      90_000,
    );
    for (const d of done.status?.disks ?? []) {
      expect(d.committed).toBe(true);
      expect(d.targetChecksum).toBe(d.sourceChecksum);
    }
    expect(done.status?.progress?.percentage).toBe(100);
    expect(done.status?.progress?.totalBytes).toBe(
      2n * (done.status?.disks ?? []).reduce((n, d) => n + d.sizeBytes, 0n),
    );
    // The target VM's disks hold the source's bytes, read back through its provider.
    const targetVm = tm.vm("web-kvm") as VirtualMachine;
    expect(await diskDigests(providerClient(target.url), targetVm.status?.id ?? "")).toEqual(held);
    // The staged files are removed once the target is verified.
    expect(done.status?.storageInfo?.cleanedUp).toBe(true);
    expect(existsSync(join(stagingDir, uid))).toBe(false);
    const reasons = await tm.reasons(Kind.VM_MIGRATION, "web-staged");
    for (const reason of ["DiskStaged", "Staged", "SourceReleased", "DiskTransferred", "Completed"])
      expect(reasons).toContain(reason);
  });

  it("fails a staged migration on a manager without a staging directory, naming why", async () => {
    const plain = await startTestManager();
    try {
      const other = await spawnMock(["--disk-bytes", "16Mi"]);
      processes.push(other);
      await plain.apply(migrationStack(other.url, other.url));
      await plain.ready("web");
      await plain.apply(
        migrationManifest("nowhere", "web", "web-kvm", "  storage:\n    type: directory\n"),
      );
      const failed = await eventually(
        () => {
          const m = migrationOf(plain.manager.store, "nowhere");
          return m?.status?.phase === MigrationPhase.FAILED ? m : undefined;
        },
        30_000,
        "the migration failed",
      );
      expect(failed.status?.message).toContain("--migration-staging-dir");
    } finally {
      await plain.close();
    }
  });
});
