import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "@jest/globals";
import { CapabilitiesSchema, DiskInfoSchema, ImageFormat } from "@virtrigaud/contracts";
import {
  CircuitState,
  CleanupPolicy,
  ConditionStatus,
  DiskFormat,
  MigrationPhase,
  PowerState,
  VMMigrationSchema,
  VMMigrationStatusSchema,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import { commonFormat, transferIds } from "./migration-formats.js";
import {
  type MigrationFacts,
  type MigrationPlan,
  type ProviderFacts,
  migrationAnnotation,
  outageBackoffMs,
  planMigration,
  retryDelayMs,
} from "./migration-plan.js";
import { formatDuration, transferProgress } from "./migration-progress.js";
import { targetNetworks, targetVmOf } from "./migration-target.js";

const now = 1_700_000_000_000;
type SpecInit = NonNullable<MessageInitShape<typeof VMMigrationSchema>["spec"]>;
type StatusInit = MessageInitShape<typeof VMMigrationStatusSchema>;

const migrationOf = (spec: Partial<SpecInit> = {}) =>
  create(VMMigrationSchema, {
    metadata: { name: "m", namespace: "default", uid: "mig-uid", generation: 1n },
    spec: {
      source: { vmRef: { name: "src" } },
      target: { name: "dst", providerRef: { name: "kvm" } },
      ...spec,
    } as SpecInit,
  });
const readyCondition = [{ type: "Ready", status: ConditionStatus.TRUE }];
const sourceVm = (power = PowerState.ON) =>
  create(VirtualMachineSchema, {
    metadata: { name: "src", namespace: "default", uid: "src-uid" },
    spec: {
      providerRef: { name: "esx" },
      classRef: { name: "small" },
      powerState: PowerState.ON,
      networks: [
        { name: "lan", networkRef: { name: "lan-esx" }, macAddress: "52:54:00:aa:bb:01" },
        { name: "backup" },
      ],
    },
    status: {
      id: "vm-1",
      powerState: power,
      conditions: readyCondition,
      boundProvider: { name: "esx", namespace: "default" },
      addresses: [{ address: "10.0.0.9", macAddress: "52:54:00:aa:bb:02" }],
    },
  });
const provider = (
  key: string,
  caps: MessageInitShape<typeof CapabilitiesSchema>,
  circuit = CircuitState.CLOSED,
): ProviderFacts => ({ key, circuit, capabilities: create(CapabilitiesSchema, caps) });
const exporter = (fromSnapshot = false) =>
  provider("default/esx", {
    diskExportFormats: [ImageFormat.VMDK, ImageFormat.RAW],
    diskExportFromSnapshot: fromSnapshot,
  });
const liveExporter = () =>
  provider("default/esx", {
    diskExportFormats: [ImageFormat.QCOW2, ImageFormat.RAW],
    diskExportFromSnapshot: true,
    diskExportChangedRanges: true,
  });
const liveImporter = () =>
  provider("default/kvm", {
    diskImportFormats: [ImageFormat.QCOW2, ImageFormat.RAW],
    diskImportRewrites: true,
  });
const importer = (circuit = CircuitState.CLOSED) =>
  provider("default/kvm", { diskImportFormats: [ImageFormat.QCOW2, ImageFormat.RAW] }, circuit);

const twoDisks = [
  { name: "root", exportId: "x-root", importId: "m-root", capacityBytes: 10n << 30n },
  { name: "data", exportId: "x-data", importId: "m-data", capacityBytes: 1n << 30n },
];

function factsOf(overrides: Partial<MigrationFacts> = {}, status: StatusInit = {}): MigrationFacts {
  return {
    migration: migrationOf(),
    status: create(VMMigrationStatusSchema, status),
    now,
    sourceVm: sourceVm(),
    snapshot: undefined,
    targetVm: undefined,
    source: exporter(),
    target: importer(),
    stagingDir: undefined,
    described: undefined,
    transfer: undefined,
    outageWaits: 0,
    confirmedImports: new Set(),
    ...overrides,
  };
}
const ready = (p: MigrationPlan) => p.status.conditions.find((c) => c.type === "Ready");
const phaseOf = (p: MigrationPlan) => MigrationPhase[p.status.phase];

describe("planMigration: validating", () => {
  it("starts, picks a common format, and shuts a running source down when its provider cannot export from a snapshot", () => {
    const p = planMigration(factsOf());
    expect(phaseOf(p)).toBe("EXPORTING");
    expect(p.status.transferFormat).toBe(DiskFormat.RAW);
    expect(p.status.startTime).toBeDefined();
    expect(p.step).toEqual({ kind: "shutDownSource" });
    expect(p.events.map((e) => e.reason)).toEqual(["Validating", "Exporting"]);
  });

  it("prefers the diskFormat asked for when both providers can, and refuses a pair with nothing in common", () => {
    expect(
      commonFormat(
        [ImageFormat.VMDK, ImageFormat.QCOW2],
        [ImageFormat.RAW, ImageFormat.QCOW2],
        DiskFormat.QCOW2,
      ),
    ).toBe(DiskFormat.QCOW2);
    expect(
      commonFormat(
        [ImageFormat.QCOW2, ImageFormat.RAW],
        [ImageFormat.RAW, ImageFormat.QCOW2],
        DiskFormat.VMDK,
      ),
    ).toBe(DiskFormat.QCOW2);
    const p = planMigration(
      factsOf({ target: provider("default/kvm", { diskImportFormats: [ImageFormat.QCOW2] }) }),
    );
    expect(phaseOf(p)).toBe("FAILED");
    expect(ready(p)?.reason).toBe("Unsupported");
    expect(p.status.message).toContain("no disk format in common");
  });

  it("fails when a provider moves no disks, and waits while one is unreachable", () => {
    const none = planMigration(factsOf({ target: provider("default/kvm", {}) }));
    expect(none.status.message).toBe("provider default/kvm imports no disks");
    const down = planMigration(factsOf({ target: importer(CircuitState.OPEN) }));
    expect(phaseOf(down)).toBe("VALIDATING");
    expect(down.step).toEqual({ kind: "wait", afterMs: 1_000 });
    expect(ready(down)?.reason).toBe("ProviderUnavailable");
  });

  it("fails for a missing source and waits for one that is not Ready", () => {
    expect(ready(planMigration(factsOf({ sourceVm: undefined })))?.reason).toBe("SourceNotFound");
    const notReady = sourceVm();
    notReady.status!.conditions = [];
    const p = planMigration(factsOf({ sourceVm: notReady }));
    expect(p.step.kind).toBe("wait");
    expect(ready(p)?.reason).toBe("SourceNotReady");
  });

  it("refuses a target VirtualMachine that exists and is not its own", () => {
    const other = create(VirtualMachineSchema, { metadata: { name: "dst", annotations: {} } });
    expect(ready(planMigration(factsOf({ targetVm: other })))?.reason).toBe("TargetExists");
  });

  it("takes a snapshot of a source that is off when its provider exports from one, unless the source is to be powered off", () => {
    const snap = planMigration(
      factsOf({ source: exporter(true), sourceVm: sourceVm(PowerState.OFF) }),
    );
    expect(phaseOf(snap)).toBe("SNAPSHOTTING");
    expect(snap.step).toEqual({ kind: "takeSnapshot", name: "migration-mig-uid" });
    // Off, nothing changes after the snapshot: no final sync.
    expect(snap.status.finalSync).toBe(false);
    const cold = planMigration(
      factsOf({
        source: liveExporter(),
        target: liveImporter(),
        migration: migrationOf({
          source: { vmRef: { name: "src" }, powerOffBeforeMigration: true },
        }),
      }),
    );
    expect(cold.step).toEqual({ kind: "shutDownSource" });
  });

  it("migrates a running source live when its provider exports changed ranges and the target takes a final sync, in RAW", () => {
    const p = planMigration(factsOf({ source: liveExporter(), target: liveImporter() }));
    expect(phaseOf(p)).toBe("SNAPSHOTTING");
    expect(p.status.finalSync).toBe(true);
    expect(p.status.transferFormat).toBe(DiskFormat.RAW);
    expect(p.status.message).toContain("a final sync follows at cutover");
    expect(p.step).toEqual({ kind: "takeSnapshot", name: "migration-mig-uid" });
  });

  it("shuts a running source down for a cold export, saying why, when a live migration could not carry the guest's later writes", () => {
    const cases: Array<[Partial<MigrationFacts>, string]> = [
      [{ source: exporter(true), target: liveImporter() }, "cannot export the ranges changed"],
      [{ source: liveExporter(), target: importer() }, "cannot take a final sync"],
      [
        {
          source: liveExporter(),
          target: liveImporter(),
          migration: migrationOf({ options: { diskFormat: DiskFormat.QCOW2 } }),
        },
        "a final sync moves RAW",
      ],
    ];
    for (const [facts, why] of cases) {
      const p = planMigration(factsOf(facts));
      expect(phaseOf(p)).toBe("EXPORTING");
      expect(p.status.finalSync).toBe(false);
      expect(p.step).toEqual({ kind: "shutDownSource" });
      const event = p.events.find((e) => e.reason === "ColdMigration");
      expect(event?.message).toContain(why);
      expect(event?.message).toContain("src is shut down for a cold export");
    }
  });
});

describe("planMigration: exporting", () => {
  const exporting = {
    phase: MigrationPhase.EXPORTING,
    startTime: timestampFromMs(now),
    transferFormat: DiskFormat.RAW,
  };

  it("waits for the shutdown it asked for, then describes the disks and NICs", () => {
    const asked = planMigration(factsOf({}, { ...exporting, sourcePoweredOff: true }));
    expect(asked.step.kind).toBe("wait");
    expect(ready(asked)?.reason).toBe("ShuttingDown");
    const off = planMigration(
      factsOf({ sourceVm: sourceVm(PowerState.OFF) }, { ...exporting, sourcePoweredOff: true }),
    );
    expect(off.step).toEqual({ kind: "describeSource" });
  });

  it("records every disk with ids derived from the uid and the disk, and exports them one by one", () => {
    const p = planMigration(
      factsOf(
        {
          sourceVm: sourceVm(PowerState.OFF),
          described: {
            disks: [
              create(DiskInfoSchema, {
                name: "root",
                capacityBytes: 10n << 30n,
                format: ImageFormat.VMDK,
              }),
              create(DiskInfoSchema, {
                name: "data",
                capacityBytes: 1n << 30n,
                format: ImageFormat.VMDK,
              }),
            ],
            macAddresses: ["52:54:00:AA:BB:01", "52:54:00:aa:bb:02"],
          },
        },
        exporting,
      ),
    );
    expect(p.status.disks.map((d) => d.name)).toEqual(["root", "data"]);
    expect(p.status.disks[1]?.importId).toBe(transferIds("mig-uid", "data").importId);
    expect(p.status.importId).toBe(transferIds("mig-uid", "root").importId);
    expect(p.step).toEqual({ kind: "beginExport", index: 0 });
    expect(p.status.sourceMacAddresses).toEqual(["52:54:00:aa:bb:01", "52:54:00:aa:bb:02"]);
    const second = planMigration(
      factsOf(
        { sourceVm: sourceVm(PowerState.OFF) },
        {
          ...exporting,
          disks: [{ ...twoDisks[0]!, sourceChecksum: "a".repeat(64), sizeBytes: 5n }, twoDisks[1]!],
        },
      ),
    );
    expect(second.step).toEqual({ kind: "beginExport", index: 1 });
  });

  it("exports from a snapshot without shutting the source down", () => {
    const p = planMigration(factsOf({}, { ...exporting, snapshotId: "snap-1" }));
    expect(p.step).toEqual({ kind: "describeSource" });
  });

  it("goes on to transfer once every disk is exported, with the total to copy", () => {
    const p = planMigration(
      factsOf(
        { sourceVm: sourceVm(PowerState.OFF) },
        {
          ...exporting,
          disks: twoDisks.map((d, i) => ({
            ...d,
            sourceChecksum: "a".repeat(64),
            sizeBytes: BigInt(100 * (i + 1)),
          })),
        },
      ),
    );
    expect(phaseOf(p)).toBe("TRANSFERRING");
    expect(p.status.progress?.totalBytes).toBe(300n);
    expect(p.step).toEqual({ kind: "transfer", leg: "direct" });
  });
});

describe("planMigration: transferring", () => {
  const transferring = {
    phase: MigrationPhase.TRANSFERRING,
    startTime: timestampFromMs(now),
    disks: twoDisks.map((d) => ({ ...d, sourceChecksum: "a".repeat(64), sizeBytes: 100n })),
  };

  it("leaves a running copy alone and moves on when it is done", () => {
    expect(planMigration(factsOf({ transfer: { state: "running" } }, transferring)).step).toEqual({
      kind: "none",
    });
    const done = planMigration(
      factsOf({ transfer: { state: "done", leg: "direct" } }, transferring),
    );
    expect(phaseOf(done)).toBe("IMPORTING");
    expect(done.step).toEqual({ kind: "commitImport", index: 0 });
  });

  it("waits while the target provider is down, saying so, and resumes when it is back", () => {
    const down = planMigration(
      factsOf(
        {
          target: importer(CircuitState.OPEN),
          transfer: { state: "failed", outage: true, message: "unavailable" },
        },
        transferring,
      ),
    );
    expect(phaseOf(down)).toBe("TRANSFERRING");
    expect(down.step).toEqual({ kind: "wait", afterMs: 1_000 });
    expect(down.status.message).toContain("provider default/kvm is unavailable");
    const longer = planMigration(
      factsOf({ target: importer(CircuitState.OPEN), outageWaits: 3 }, transferring),
    );
    expect(longer.step).toEqual({ kind: "wait", afterMs: 8_000 });
    expect(outageBackoffMs(10)).toBe(30_000);
    expect(down.status.retryCount).toBe(0);
    const back = planMigration(factsOf({}, transferring));
    expect(back.step).toEqual({ kind: "transfer", leg: "direct" });
  });

  it("counts a failed copy as a retry with backoff, and fails after maxRetries", () => {
    const failed = { state: "failed" as const, outage: false, message: "data_loss" };
    const once = planMigration(factsOf({ transfer: failed }, transferring));
    expect(once.status.retryCount).toBe(1);
    expect(once.step).toEqual({ kind: "wait", afterMs: 10_000 });
    const last = planMigration(factsOf({ transfer: failed }, { ...transferring, retryCount: 3 }));
    expect(phaseOf(last)).toBe("FAILED");
    expect(last.step).toEqual({ kind: "fail", cleanUp: false });
    const policy = migrationOf({
      options: { retryPolicy: { retryDelay: "2s", backoffMultiplier: 3 } },
    });
    expect(retryDelayMs(policy, 3)).toBe(18_000);
  });

  it("fails after the timeout, cleaning up when the policy is Always", () => {
    const p = planMigration(
      factsOf(
        {
          migration: migrationOf({
            options: { timeout: "1m", cleanupPolicy: CleanupPolicy.ALWAYS },
          }),
          now: now + 61_000,
        },
        transferring,
      ),
    );
    expect(ready(p)?.reason).toBe("Timeout");
    expect(p.step).toEqual({ kind: "fail", cleanUp: true });
  });
});

describe("planMigration: the final sync of a live migration", () => {
  // Copied at the snapshot: the targets hold every disk whole, uncommitted.
  const copied = {
    phase: MigrationPhase.TRANSFERRING,
    startTime: timestampFromMs(now),
    finalSync: true,
    snapshotId: "snap-1",
    snapshotCreated: true,
    transferFormat: DiskFormat.RAW,
    disks: twoDisks.map((d) => ({
      ...d,
      sourceChecksum: "a".repeat(64),
      sizeBytes: 100n,
      verifiedOffset: 100n,
    })),
  };
  const live = { source: liveExporter(), target: liveImporter() };

  it("copies at the snapshot first, without committing, while the source runs", () => {
    const notYet = { ...copied, disks: copied.disks.map((d) => ({ ...d, verifiedOffset: 10n })) };
    const p = planMigration(factsOf(live, notYet));
    expect(p.step).toEqual({ kind: "transfer", leg: "direct" });
    expect(ready(p)?.reason).toBe("Transferring");
  });

  it("at cutover shuts the source down gracefully, saying so, and waits for it", () => {
    const p = planMigration(
      factsOf({ ...live, transfer: { state: "done", leg: "direct" } }, copied),
    );
    expect(phaseOf(p)).toBe("TRANSFERRING");
    expect(p.step).toEqual({ kind: "shutDownSource" });
    expect(p.events.map((e) => e.reason)).toEqual(["FinalSync"]);
    const asked = planMigration(factsOf(live, { ...copied, sourcePoweredOff: true }));
    expect(asked.step.kind).toBe("wait");
    expect(ready(asked)?.reason).toBe("ShuttingDown");
  });

  it("exports each disk's changes once the source is off, then syncs them, showing the sync's bytes", () => {
    const off = { ...live, sourceVm: sourceVm(PowerState.OFF) };
    const status = { ...copied, sourcePoweredOff: true };
    expect(planMigration(factsOf(off, status)).step).toEqual({ kind: "beginSyncExport", index: 0 });
    const exported = {
      ...status,
      disks: status.disks.map((d, i) => ({
        ...d,
        syncExportId: `s-${d.name}`,
        syncBytes: BigInt(10 * (i + 1)),
        syncedBytes: i === 0 ? 10n : 5n,
        synced: i === 0,
      })),
    };
    const p = planMigration(factsOf(off, exported));
    expect(p.step).toEqual({ kind: "transfer", leg: "sync" });
    expect(ready(p)?.reason).toBe("FinalSync");
    expect(p.status.message).toContain("final sync");
    expect(p.status.progress?.totalBytes).toBe(30n);
    expect(p.status.progress?.transferredBytes).toBe(15n);
    // A sync that failed counts as a retry like a copy.
    const failed = planMigration(
      factsOf(
        { ...off, transfer: { state: "failed", outage: false, message: "data_loss" } },
        exported,
      ),
    );
    expect(failed.status.retryCount).toBe(1);
  });

  it("commits once every disk is synced", () => {
    const synced = {
      ...copied,
      sourcePoweredOff: true,
      disks: copied.disks.map((d) => ({ ...d, syncExportId: "s", synced: true, committed: true })),
      progress: { totalBytes: 20n, transferredBytes: 20n },
    };
    const p = planMigration(
      factsOf(
        { ...live, sourceVm: sourceVm(PowerState.OFF), transfer: { state: "done", leg: "sync" } },
        synced,
      ),
    );
    expect(phaseOf(p)).toBe("IMPORTING");
    expect(p.step).toEqual({ kind: "commitImport", index: 0 });
    // The progress shows the whole move again.
    expect(p.status.progress?.totalBytes).toBe(200n);
    expect(p.status.progress?.percentage).toBe(100);
  });
});

describe("planMigration: creating and verifying", () => {
  const committed = {
    phase: MigrationPhase.IMPORTING,
    startTime: timestampFromMs(now),
    disks: twoDisks.map((d) => ({
      ...d,
      sourceChecksum: "a".repeat(64),
      targetChecksum: "a".repeat(64),
      sizeBytes: 100n,
      committed: true,
    })),
  };
  const target = (ok: boolean) =>
    create(VirtualMachineSchema, {
      metadata: { name: "dst", annotations: { [migrationAnnotation]: "mig-uid" } },
      status: { id: "vm-9", conditions: ok ? readyCondition : [] },
    });

  it("asks the target again about every import before declaring the target", () => {
    expect(planMigration(factsOf({}, committed)).step).toEqual({ kind: "commitImport", index: 0 });
    const one = planMigration(factsOf({ confirmedImports: new Set(["m-root"]) }, committed));
    expect(one.step).toEqual({ kind: "commitImport", index: 1 });
  });

  it("declares the target once the imports are committed, then waits for it to be Ready", () => {
    const p = planMigration(
      factsOf({ confirmedImports: new Set(["m-root", "m-data"]) }, committed),
    );
    expect(phaseOf(p)).toBe("CREATING");
    expect(p.step).toEqual({ kind: "declareTarget" });
    const made = planMigration(
      factsOf({ targetVm: target(false) }, { ...committed, phase: MigrationPhase.CREATING }),
    );
    expect(phaseOf(made)).toBe("VALIDATING_TARGET");
    expect(made.status.targetVmRef?.name).toBe("dst");
    expect(ready(made)?.reason).toBe("TargetNotReady");
  });

  it("cleans up, deletes the source only when asked, then is Ready with the checks recorded", () => {
    const verifying = { ...committed, phase: MigrationPhase.VALIDATING_TARGET };
    expect(planMigration(factsOf({ targetVm: target(true) }, verifying)).step).toEqual({
      kind: "cleanUp",
    });
    const keep = planMigration(
      factsOf({ targetVm: target(true) }, { ...verifying, cleanedUp: true }),
    );
    expect(phaseOf(keep)).toBe("READY");
    expect(keep.status.validationResults?.checksumMatch).toBe(true);
    expect(keep.status.targetVmId).toBe("vm-9");
    expect(keep.status.diskInfo?.sourceChecksum).toBe("a".repeat(64));
    expect(keep.status.diskInfo?.targetChecksum).toBe("a".repeat(64));
    expect(keep.status.diskInfo?.targetDiskId).toBe("m-root");
    expect(ready(keep)?.status).toBe(ConditionStatus.TRUE);
    const del = migrationOf({ source: { vmRef: { name: "src" }, deleteAfterMigration: true } });
    expect(
      planMigration(
        factsOf({ migration: del, targetVm: target(true) }, { ...verifying, cleanedUp: true }),
      ).step,
    ).toEqual({ kind: "deleteSource" });
  });

  it("fails when a checksum differs", () => {
    const bad = { ...committed, phase: MigrationPhase.VALIDATING_TARGET };
    bad.disks = bad.disks.map((d, i) => (i ? { ...d, targetChecksum: "b".repeat(64) } : d));
    const p = planMigration(factsOf({ targetVm: target(true) }, bad));
    expect(ready(p)?.reason).toBe("ValidationFailed");
    expect(p.status.validationResults?.checksumMatch).toBe(false);
  });
});

describe("the target VirtualMachine", () => {
  it("adopts the imported disks, maps the networks and keeps the MACs when asked", () => {
    const migration = migrationOf({
      target: {
        name: "dst",
        namespace: "prod",
        providerRef: { name: "kvm" },
        classRef: { name: "large" },
        networkMappings: [{ sourceNetwork: "lan-esx", targetNetwork: { name: "lan-kvm" } }],
        preserveMacAddresses: true,
        disks: [{ name: "data", sizeGib: 5 }],
      },
    });
    // Shut down, the source reports no addresses: the MACs come from the provider's description.
    const source = sourceVm(PowerState.OFF);
    source.status!.addresses = [];
    const status = create(VMMigrationStatusSchema, {
      disks: twoDisks,
      sourceMacAddresses: ["52:54:00:aa:bb:01", "52:54:00:aa:bb:02"],
    });
    const vm = targetVmOf(migration, source, status)!;
    expect(vm.metadata?.namespace).toBe("prod");
    expect(vm.metadata?.annotations[migrationAnnotation]).toBe("mig-uid");
    expect(vm.spec?.importedDisk?.diskId).toBe("m-root");
    expect(vm.spec?.disks.map((d) => [d.name, d.sizeGib, d.importedDisk?.diskId])).toEqual([
      ["data", 5, "m-data"],
    ]);
    expect(vm.spec?.classRef?.name).toBe("large");
    expect(vm.spec?.powerState).toBe(PowerState.OFF);
    expect(vm.spec?.networks.map((n) => [n.name, n.networkRef?.name ?? "", n.macAddress])).toEqual([
      ["lan", "lan-kvm", "52:54:00:aa:bb:01"],
      ["backup", "", "52:54:00:aa:bb:02"],
    ]);
    const fresh = targetNetworks(migrationOf(), source, status);
    expect(fresh.map((n) => n.macAddress)).toEqual(["", ""]);
    // Not yet described: the MAC the spec names.
    const named = targetNetworks(migration, source, create(VMMigrationStatusSchema));
    expect(named.map((n) => n.macAddress)).toEqual(["52:54:00:aa:bb:01", ""]);
  });
});

describe("transfer progress", () => {
  it("sums the verified offsets of every disk, with the rate and the time left", () => {
    const disks = create(VMMigrationStatusSchema, {
      disks: [
        { name: "root", sizeBytes: 1000n, committed: true },
        { name: "data", sizeBytes: 1000n, verifiedOffset: 500n },
      ],
    }).disks;
    expect(transferProgress(disks, 10)).toEqual({
      totalBytes: 2000n,
      transferredBytes: 1500n,
      percentage: 75,
      transferRate: 10n,
      eta: "50s",
    });
    expect(formatDuration(3_723_000)).toBe("1h2m3s");
  });
});

describe("planMigration: staged through the manager's staging directory", () => {
  const staged = migrationOf({ storage: { type: "directory" } });
  const transferring = {
    phase: MigrationPhase.TRANSFERRING,
    startTime: timestampFromMs(now),
    transferFormat: DiskFormat.RAW,
    storageInfo: { url: "file:///var/stage/mig-uid" },
  };
  const exported = twoDisks.map((d) => ({ ...d, sourceChecksum: "a".repeat(64), sizeBytes: 8n }));

  it("fails without a staging directory, and starts without the target", () => {
    const none = planMigration(factsOf({ migration: staged }));
    expect(phaseOf(none)).toBe("FAILED");
    expect(ready(none)?.reason).toBe("StagingUnavailable");
    // The target is down: the format is the source's own, and the export begins.
    const p = planMigration(
      factsOf({ migration: staged, stagingDir: "/var/stage", target: undefined }),
    );
    expect(phaseOf(p)).toBe("EXPORTING");
    expect(p.status.transferFormat).toBe(DiskFormat.VMDK);
    expect(p.status.storageInfo?.url).toBe("file:///var/stage/mig-uid");
    // With the target up, a format both can, as unstaged.
    const both = planMigration(factsOf({ migration: staged, stagingDir: "/var/stage" }));
    expect(both.status.transferFormat).toBe(DiskFormat.RAW);
  });

  it("stages the disks while only the source is up, then releases the source", () => {
    const facts = (disks: NonNullable<StatusInit["disks"]>, extra: Partial<MigrationFacts> = {}) =>
      factsOf(
        {
          migration: staged,
          stagingDir: "/var/stage",
          target: importer(CircuitState.OPEN),
          ...extra,
        },
        { ...transferring, disks },
      );
    expect(planMigration(facts(exported)).step).toEqual({ kind: "transfer", leg: "stage" });
    const sourceDown = planMigration(facts(exported, { source: undefined }));
    expect(sourceDown.step.kind).toBe("wait");
    expect(ready(sourceDown)?.reason).toBe("ProviderUnavailable");
    const whole = exported.map((d) => ({ ...d, staged: true, stagedOffset: 8n }));
    const release = planMigration(facts(whole, { transfer: { state: "done", leg: "stage" } }));
    expect(release.step).toEqual({ kind: "releaseSource" });
    expect(release.status.storageInfo?.uploadedAt).toBeDefined();
    expect(release.status.storageInfo?.size).toBe(16n);
    expect(release.events.map((e) => e.reason)).toEqual(["Staged"]);
  });

  it("copies the staged disks out once the target is up, and only in a format it imports", () => {
    const whole = exported.map((d) => ({ ...d, staged: true, stagedOffset: 8n }));
    const released = { ...transferring, disks: whole, sourceReleased: true };
    const waiting = planMigration(
      factsOf(
        {
          migration: staged,
          stagingDir: "/var/stage",
          source: undefined,
          target: importer(CircuitState.OPEN),
        },
        released,
      ),
    );
    expect(waiting.step.kind).toBe("wait");
    expect(waiting.status.message).toContain("provider default/kvm is unavailable");
    const out = planMigration(
      factsOf({ migration: staged, stagingDir: "/var/stage", source: undefined }, released),
    );
    expect(out.step).toEqual({ kind: "transfer", leg: "unstage" });
    const vmdk = planMigration(
      factsOf(
        { migration: staged, stagingDir: "/var/stage", source: undefined },
        { ...released, transferFormat: DiskFormat.VMDK },
      ),
    );
    expect(phaseOf(vmdk)).toBe("FAILED");
    expect(vmdk.status.message).toContain("does not import VMDK");
    // Once every disk is committed at the target, on to the imports.
    const committed = whole.map((d) => ({ ...d, committed: true, verifiedOffset: 8n }));
    const done = planMigration(
      factsOf(
        {
          migration: staged,
          stagingDir: "/var/stage",
          source: undefined,
          transfer: { state: "done", leg: "unstage" },
        },
        { ...released, disks: committed },
      ),
    );
    expect(phaseOf(done)).toBe("IMPORTING");
  });

  it("counts both copies in the progress", () => {
    const disks = create(VMMigrationStatusSchema, {
      disks: [
        { name: "root", sizeBytes: 1000n, staged: true, verifiedOffset: 500n },
        { name: "data", sizeBytes: 1000n, stagedOffset: 500n },
      ],
    }).disks;
    expect(transferProgress(disks, 0, true)).toMatchObject({
      totalBytes: 4000n,
      transferredBytes: 2000n,
      percentage: 50,
    });
  });
});
