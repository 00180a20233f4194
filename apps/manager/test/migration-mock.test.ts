import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { Kind, MigrationPhase, PowerState, type VirtualMachine } from "@virtrigaud/proto/manager";
import { type TestManager, providerClient, startTestManager } from "./harness.js";
import {
  type MigrationBed,
  diskDigests,
  isReady,
  migrationManifest,
  migrationOf,
  migrationStack,
  phaseReached,
  startMigrationBed,
} from "./migration-fixtures.js";
import { vmManifest } from "./fixtures.js";
import {
  type ServerProcess,
  eventually,
  freePort,
  providerCalls,
  spawnMock,
  vrtg,
} from "./processes.js";

// Two or three mock providers and a manager on a shared 2-core machine.
jest.setTimeout(120_000);

describe("VMMigration between two mock providers", () => {
  let bed: MigrationBed | undefined;
  let source: ServerProcess;
  let tm: TestManager;
  let target: ServerProcess;
  beforeAll(async () => {
    // Two chunks of the source's exports arrive damaged (the sha256 is the undamaged bytes').
    bed = await startMigrationBed(["--fault", "diskExportRead:corrupt-chunk:times=2"]);
    ({ source, target, tm } = bed);
  });
  afterAll(() => bed?.stop());

  it("moves a VM with two disks: Ready, checksums matching, the target's disks holding the source's bytes", async () => {
    await tm.apply(migrationManifest("web-to-kvm", "web", "web-kvm"));
    const done = await phaseReached(
      () => migrationOf(tm.manager.store, "web-to-kvm"),
      MigrationPhase.READY,
    );
    expect(isReady(done)).toBe(true);
    const disks = done.status?.disks ?? [];
    expect(disks.map((d) => d.name)).toEqual(["root", "data"]);
    for (const d of disks) {
      expect(d.committed).toBe(true);
      expect(d.sourceChecksum).toMatch(/^[0-9a-f]{64}$/);
      expect(d.targetChecksum).toBe(d.sourceChecksum);
      expect(d.verifiedOffset).toBe(d.sizeBytes);
    }
    expect(done.status?.validationResults?.checksumMatch).toBe(true);
    expect(done.status?.progress?.percentage).toBe(100);
    expect(done.status?.progress?.transferredBytes).toBe(done.status?.progress?.totalBytes);

    // What the target's VM holds, read back through its provider, is what the source exported.
    const targetVm = tm.manager.store.get(
      Kind.VIRTUAL_MACHINE,
      "default",
      "web-kvm",
    ) as VirtualMachine;
    expect(targetVm.spec?.importedDisk?.diskId).toBe(disks[0]?.importId);
    expect(targetVm.spec?.disks[0]?.importedDisk?.diskId).toBe(disks[1]?.importId);
    const held = await diskDigests(providerClient(target.url), targetVm.status?.id ?? "");
    expect(held).toEqual({ root: disks[0]?.sourceChecksum, data: disks[1]?.sourceChecksum });
    // ... and what the source still holds.
    const sourceVm = tm.vm("web");
    expect(await diskDigests(providerClient(source.url), sourceVm?.status?.id ?? "")).toEqual(held);

    // The mock exports from a snapshot while the source runs, then shuts it
    // down for the final sync (nothing changed here); the snapshot is gone.
    expect(done.status?.finalSync).toBe(true);
    expect(disks.map((d) => d.syncBytes)).toEqual([0n, 0n]);
    expect(sourceVm?.status?.powerState).toBe(PowerState.OFF);
    expect(done.status?.snapshotCreated).toBe(true);
    const snapshots = await providerClient(source.url).snapshotList({
      vmId: sourceVm?.status?.id ?? "",
    });
    expect(snapshots.snapshots).toEqual([]);
    // The exports are ended.
    await expect(
      providerClient(source.url).diskExportRead({
        exportId: disks[0]?.exportId ?? "",
        offset: 0n,
        length: 1,
      }),
    ).rejects.toThrow();

    const reasons = await tm.reasons(Kind.VM_MIGRATION, "web-to-kvm");
    for (const phase of [
      "Validating",
      "Snapshotting",
      "Exporting",
      "Transferring",
      "Importing",
      "Creating",
      "ValidatingTarget",
      "Completed",
    ])
      expect(reasons).toContain(phase);
  });

  it("detects the corrupted chunks and sends them again", () => {
    const disks = migrationOf(tm.manager.store, "web-to-kvm")?.status?.disks ?? [];
    expect(disks.reduce((n, d) => n + d.corruptedChunks, 0)).toBe(2);
    // Caught on arrival, before the target: what it was sent is each disk once.
    expect(disks.map((d) => d.sentBytes)).toEqual(disks.map((d) => d.sizeBytes));
  });

  it("a finished cold migration leaves the source off, and deleting it keeps the target", async () => {
    await tm.apply(vmManifest("cold", { provider: "esx", dataGiB: 1 }));
    await tm.ready("cold");
    await tm.apply(
      migrationManifest("cold-move", "cold", "cold-kvm").replace(
        "    vmRef: {name: cold}\n",
        "    vmRef: {name: cold}\n    powerOffBeforeMigration: true\n",
      ),
    );
    const done = await phaseReached(
      () => migrationOf(tm.manager.store, "cold-move"),
      MigrationPhase.READY,
    );
    expect(done.status?.sourcePoweredOff).toBe(true);
    expect(done.status?.snapshotId).toBe("");
    expect(tm.vm("cold")?.spec?.powerState).toBe(PowerState.OFF_GRACEFUL);
    expect(tm.vm("cold")?.status?.powerState).toBe(PowerState.OFF);
    expect(await tm.reasons(Kind.VM_MIGRATION, "cold-move")).toContain("ShuttingDown");
    // preserveMACAddresses: the target's NIC has the MAC the source's provider gave it.
    const described = await providerClient(source.url).describe({
      vmId: tm.vm("cold")?.status?.id ?? "",
    });
    const macs = described.vm?.resources?.networkInterfaces.map((n) => n.macAddress) ?? [];
    expect(macs).toHaveLength(1);
    expect(done.status?.sourceMacAddresses).toEqual(macs);
    expect(tm.vm("cold-kvm")?.spec?.networks.map((n) => n.macAddress)).toEqual(macs);

    await tm.client.delete({ kind: Kind.VM_MIGRATION, namespace: "default", name: "cold-move" });
    await eventually(
      () => !migrationOf(tm.manager.store, "cold-move"),
      30_000,
      "the migration gone",
    );
    await tm.ready("cold-kvm");
    // Verified: the source is not powered on again (it is the same machine as the target).
    expect(tm.vm("cold")?.spec?.powerState).toBe(PowerState.OFF_GRACEFUL);
  });

  it("lists migrations with their phase and progress in vrtg get", async () => {
    const { stdout, code } = await vrtg(tm.url, ["get", "vmmigrations"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/NAME\s+SOURCE\s+TARGET\s+PHASE\s+PROGRESS/);
    expect(stdout).toMatch(/web-to-kvm\s+web\s+kvm\/web-kvm\s+Ready\s+100% 32.0MiB\/32.0MiB/);
  });
});

describe("VMMigration provider to provider: the target pulls the source's shared exports", () => {
  let bed: MigrationBed | undefined;
  let source: ServerProcess;
  let tm: TestManager;
  let target: ServerProcess;
  beforeAll(async () => {
    // Both serve transfers. The source's first three reads come back damaged:
    // the first is DiskExportShare's check that the export is there (a byte,
    // not passed on), the next two are chunks the target pulls.
    const transfers = ["--transfer-listen", "127.0.0.1:0"];
    bed = await startMigrationBed(
      [...transfers, "--fault", "diskExportRead:corrupt-chunk:times=3"],
      transfers,
    );
    ({ source, target, tm } = bed);
  });
  afterAll(() => bed?.stop());

  it("moves both disks without a chunk through the manager, damaged reads read again, checksums matching", async () => {
    await tm.apply(migrationManifest("web-pulled", "web", "web-kvm"));
    const done = await phaseReached(
      () => migrationOf(tm.manager.store, "web-pulled"),
      MigrationPhase.READY,
    );
    expect(isReady(done)).toBe(true);
    const disks = done.status?.disks ?? [];
    for (const d of disks) {
      expect(d.committed).toBe(true);
      expect(d.targetChecksum).toBe(d.sourceChecksum);
    }
    expect(done.status?.progress?.percentage).toBe(100);
    // The manager read no chunk and wrote none: the target pulled each disk.
    const sourceCalls = await providerCalls(source.opsUrl ?? "");
    const targetCalls = await providerCalls(target.opsUrl ?? "");
    expect(sourceCalls["DiskExportRead"]).toBeUndefined();
    expect(sourceCalls["DiskExportShare"]).toBeGreaterThanOrEqual(2);
    expect(targetCalls["DiskImportWrite"]).toBeUndefined();
    expect(targetCalls["DiskImportPull"]).toBeGreaterThanOrEqual(2);
    expect(await tm.reasons(Kind.VM_MIGRATION, "web-pulled")).toContain("DiskTransferred");
    // The two damaged reads were caught by the target and read again.
    const pulls = target.logs.filter((l) => l["msg"] === "disk pull done");
    expect(pulls.reduce((n, l) => n + Number(l["reread"]), 0)).toBe(2);

    const targetVm = tm.vm("web-kvm");
    const held = await diskDigests(providerClient(target.url), targetVm?.status?.id ?? "");
    expect(held).toEqual({ root: disks[0]?.sourceChecksum, data: disks[1]?.sourceChecksum });
  });
});

describe("VMMigration interrupted", () => {
  const processes: ServerProcess[] = [];
  let tm: TestManager;
  beforeAll(async () => {
    tm = await startTestManager();
  });
  afterAll(async () => {
    await tm?.close();
    for (const p of processes) await p.stop("SIGKILL");
  });

  it("deleted midway: ends the exports, aborts the imports, powers the source on again, makes no target", async () => {
    // Slow writes keep the copy going while the migration is deleted.
    const source = await spawnMock(["--disk-bytes", "64Mi"]);
    const target = await spawnMock([
      "--disk-bytes",
      "64Mi",
      "--fault",
      "diskImportWrite:delay:delayMs=200",
    ]);
    processes.push(source, target);
    await tm.apply(migrationStack(source.url, target.url, "db"));
    await tm.ready("db");
    await tm.apply(
      migrationManifest("db-move", "db", "db-kvm", "    \n").replace(
        "    vmRef: {name: db}\n",
        "    vmRef: {name: db}\n    powerOffBeforeMigration: true\n",
      ),
    );
    const moving = await eventually(
      () => {
        const m = migrationOf(tm.manager.store, "db-move");
        return (m?.status?.progress?.transferredBytes ?? 0n) > 0n ? m : undefined;
      },
      60_000,
      "some bytes transferred",
    );
    expect(moving.status?.phase).toBe(MigrationPhase.TRANSFERRING);
    // The cold path: the source was shut down through its spec.
    expect(tm.vm("db")?.status?.powerState).toBe(PowerState.OFF);

    await tm.client.delete({ kind: Kind.VM_MIGRATION, namespace: "default", name: "db-move" });
    await eventually(() => !migrationOf(tm.manager.store, "db-move"), 30_000, "the migration gone");

    const disks = moving.status?.disks ?? [];
    expect(disks).toHaveLength(2);
    const notFound = (p: Promise<unknown>) =>
      p.then(
        () => "found",
        (e: unknown) => ProviderError.from(e).reason,
      );
    for (const d of disks) {
      expect(
        await notFound(
          providerClient(source.url).diskExportRead({
            exportId: d.exportId,
            offset: 0n,
            length: 1,
          }),
        ),
      ).toBe(ErrorReason.NOT_FOUND);
      expect(
        await notFound(providerClient(target.url).diskImportCommit({ importId: d.importId })),
      ).toBe(ErrorReason.NOT_FOUND);
    }
    expect(tm.vm("db-kvm")).toBeUndefined();
    expect((await providerClient(target.url).listVMs({})).vms).toHaveLength(0);
    // As it was: on again.
    expect(tm.vm("db")?.spec?.powerState).toBe(PowerState.ON);
    await eventually(
      () => tm.vm("db")?.status?.powerState === PowerState.ON,
      30_000,
      "db on again",
    );
  });

  it("waits while the target provider is stopped, then finishes once it is back", async () => {
    const port = await freePort();
    const listen = ["--listen", `127.0.0.1:${port}`];
    const slow = ["--disk-bytes", "32Mi", "--fault", "diskImportWrite:delay:delayMs=200"];
    const source = await spawnMock(["--disk-bytes", "32Mi"]);
    let target = await spawnMock([...listen, ...slow]);
    processes.push(source, target);
    await tm.apply(
      migrationStack(source.url, target.url, "app")
        .replace(/name: esx/g, "name: esx2")
        .replace(/name: kvm/g, "name: kvm2"),
    );
    await tm.ready("app");
    await tm.apply(
      migrationManifest("app-move", "app", "app-kvm").replace(
        "providerRef: {name: kvm}",
        "providerRef: {name: kvm2}",
      ),
    );
    // Stopped once the target holds the whole boot disk (a live migration commits it only after
    // the final sync): the mock keeps imports in memory only, so the restarted target has lost
    // it, and the migration must send it again.
    await eventually(
      () => {
        const m = migrationOf(tm.manager.store, "app-move");
        const root = m?.status?.disks[0];
        return (
          m?.status?.phase === MigrationPhase.TRANSFERRING &&
          root &&
          root.sizeBytes > 0n &&
          root.verifiedOffset === root.sizeBytes
        );
      },
      60_000,
      "the boot disk held whole at the target",
    );
    await target.stop("SIGKILL");
    const waiting = await eventually(
      () => {
        const m = migrationOf(tm.manager.store, "app-move");
        return m?.status?.message.includes("is unavailable") ? m : undefined;
      },
      30_000,
      "the migration waiting for its target",
    );
    expect(waiting.status?.phase).toBe(MigrationPhase.TRANSFERRING);
    expect(waiting.status?.conditions.find((c) => c.type === "Ready")?.reason).toBe(
      "ProviderUnavailable",
    );
    await new Promise((r) => setTimeout(r, 3_000));
    expect(migrationOf(tm.manager.store, "app-move")?.status?.phase).toBe(
      MigrationPhase.TRANSFERRING,
    );

    target = await spawnMock([...listen, ...slow]);
    processes.push(target);
    const done = await phaseReached(
      () => migrationOf(tm.manager.store, "app-move"),
      MigrationPhase.READY,
      90_000,
    );
    for (const d of done.status?.disks ?? []) expect(d.targetChecksum).toBe(d.sourceChecksum);
    const reasons = await tm.reasons(Kind.VM_MIGRATION, "app-move");
    expect(reasons).toContain("ProviderUnavailable");
    expect(reasons).toContain("ImportLost");
  });
});
