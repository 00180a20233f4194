import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { Kind, MigrationPhase, PowerState, type VirtualMachine } from "@virtrigaud/proto/manager";
import { type TestManager, providerClient } from "./harness.js";
import {
  type MigrationBed,
  diskDigests,
  migrationManifest,
  migrationOf,
  migrationStack,
  phaseReached,
  startMigrationBed,
} from "./migration-fixtures.js";
import { type ServerProcess, spawnMock } from "./processes.js";

jest.setTimeout(120_000);

const guestWrite = 64 * 1024;

describe("a live VMMigration between two mock providers", () => {
  let bed: MigrationBed | undefined;
  /** Providers a case starts besides the bed's. */
  const processes: ServerProcess[] = [];
  let source: ServerProcess;
  let target: ServerProcess;
  let tm: TestManager;
  beforeAll(async () => {
    // The source's running guests write 64 KiB right after each snapshot and as they shut down.
    bed = await startMigrationBed(["--guest-writes", "64Ki"]);
    ({ source, target, tm } = bed);
  });
  afterAll(async () => {
    await bed?.stop();
    for (const p of processes) await p.stop("SIGKILL");
  });

  it("exports at a snapshot while the source runs, then at cutover syncs what the guest wrote since, and only that", async () => {
    await tm.apply(migrationManifest("web-live", "web", "web-kvm"));
    const done = await phaseReached(
      () => migrationOf(tm.manager.store, "web-live"),
      MigrationPhase.READY,
    );
    const status = done.status;
    expect(status?.finalSync).toBe(true);
    expect(status?.snapshotCreated).toBe(true);
    const [root, data] = status?.disks ?? [];
    // The boot disk got two guest writes after the snapshot: one as it ran, one at shutdown.
    expect(root?.syncBytes).toBe(BigInt(2 * guestWrite));
    expect(data?.syncBytes).toBe(0n);
    for (const d of status?.disks ?? []) {
      expect(d.synced).toBe(true);
      expect(d.committed).toBe(true);
      expect(d.targetChecksum).toBe(d.sourceChecksum);
      // Sent: the disk once at the snapshot, then the changed ranges alone.
      expect(d.sentBytes).toBe(d.sizeBytes + d.syncBytes);
    }
    // The final sync moved far fewer bytes than the disk.
    expect(Number(root?.syncBytes) * 100).toBeLessThan(Number(root?.sizeBytes));
    // Once synced, the progress shows the whole move again.
    expect(status?.progress?.percentage).toBe(100);
    expect(status?.progress?.totalBytes).toBe((root?.sizeBytes ?? 0n) + (data?.sizeBytes ?? 0n));

    // Cutover shut the source down gracefully, through its spec.
    expect(tm.vm("web")?.spec?.powerState).toBe(PowerState.OFF_GRACEFUL);
    expect(tm.vm("web")?.status?.powerState).toBe(PowerState.OFF);

    // What the target holds is the source's disks as they are now, writes after the snapshot included.
    const targetVm = tm.manager.store.get(
      Kind.VIRTUAL_MACHINE,
      "default",
      "web-kvm",
    ) as VirtualMachine;
    const held = await diskDigests(providerClient(target.url), targetVm.status?.id ?? "");
    const now = await diskDigests(providerClient(source.url), tm.vm("web")?.status?.id ?? "");
    expect(held).toEqual(now);
    expect(held).toEqual({ root: root?.sourceChecksum, data: data?.sourceChecksum });

    const store = tm.manager.store;
    await store.flush();
    const events = await store.listEvents({
      kind: Kind.VM_MIGRATION,
      name: "web-live",
      namespace: "default",
    });
    // The copy at the snapshot had another checksum: without the sync the writes were lost.
    const exported = events.find(
      (e) => e.reason === "Exported" && e.message.startsWith("disk root"),
    );
    expect(exported?.message).toMatch(/sha256 [0-9a-f]{64}/);
    expect(exported?.message).not.toContain(root?.sourceChecksum ?? "-");
    const synced = events.filter((e) => e.reason === "FinalSync").map((e) => e.message);
    expect(synced[0]).toContain("shutting web down for the final sync");
    expect(synced).toContainEqual(
      expect.stringContaining(`disk root: the final sync moved ${2 * guestWrite} bytes`),
    );
    // The snapshot and both exports of each disk are gone.
    const snapshots = await providerClient(source.url).snapshotList({
      vmId: tm.vm("web")?.status?.id ?? "",
    });
    expect(snapshots.snapshots).toEqual([]);
    for (const exportId of [root?.exportId, root?.syncExportId, data?.exportId])
      await expect(
        providerClient(source.url).diskExportRead({
          exportId: exportId ?? "",
          offset: 0n,
          length: 1,
        }),
      ).rejects.toThrow();
  });

  it("goes cold, saying why, when the source's provider cannot snapshot this VM", async () => {
    const picky = await spawnMock([
      "--disk-bytes",
      "4Mi",
      "--guest-writes",
      "64Ki",
      "--fault",
      "snapshotCreate:fail:reason=unsupported",
    ]);
    processes.push(picky);
    await tm.apply(
      migrationStack(picky.url, target.url, "uefi")
        .replace(/name: esx/g, "name: esx3")
        .replace(/name: kvm/g, "name: kvm3"),
    );
    await tm.ready("uefi");
    await tm.apply(
      migrationManifest("uefi-move", "uefi", "uefi-kvm").replace(
        "providerRef: {name: kvm}",
        "providerRef: {name: kvm3}",
      ),
    );
    const done = await phaseReached(
      () => migrationOf(tm.manager.store, "uefi-move"),
      MigrationPhase.READY,
    );
    expect(done.status?.finalSync).toBe(false);
    expect(done.status?.snapshotId).toBe("");
    expect(done.status?.sourcePoweredOff).toBe(true);
    // Cold: the shutdown's write is in the one copy.
    for (const d of done.status?.disks ?? []) expect(d.targetChecksum).toBe(d.sourceChecksum);
    const held = await diskDigests(providerClient(target.url), tm.vm("uefi-kvm")?.status?.id ?? "");
    expect(held["root"]).toBe(done.status?.disks[0]?.sourceChecksum);
    expect(await tm.reasons(Kind.VM_MIGRATION, "uefi-move")).toContain("ColdMigration");
  });
});
