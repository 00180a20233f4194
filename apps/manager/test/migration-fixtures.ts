import { createHash } from "node:crypto";
import { ImageFormat, exportDisk } from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import { ConditionStatus, Kind, MigrationPhase, type VMMigration } from "@virtrigaud/proto/manager";
import type { ResourceStore } from "../src/store/store.js";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, startTestManager } from "./harness.js";
import { type ServerProcess, eventually, spawnMock } from "./processes.js";

/** Two mock providers, esx (the source) and kvm (the target), with the test stack and a VM "web" on esx. */
export function migrationStack(sourceUrl: string, targetUrl: string, vm = "web"): string {
  return [
    stack(sourceUrl, { provider: "esx" }),
    stack(targetUrl, { provider: "kvm" }),
    vmManifest(vm, { provider: "esx", dataGiB: 2 }),
  ].join("---\n");
}

/** A VMMigration of `vm` to provider kvm as `target`, with `extra` lines under spec. */
export function migrationManifest(name: string, vm: string, target: string, extra = ""): string {
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata:
  name: ${name}
spec:
  source:
    vmRef: {name: ${vm}}
  target:
    name: ${target}
    providerRef: {name: kvm}
    powerOn: true
    preserveMACAddresses: true
${extra}`;
}

/** The migration as stored, read from `store`. */
export function migrationOf(store: ResourceStore, name: string): VMMigration | undefined {
  return store.get(Kind.VM_MIGRATION, "default", name) as VMMigration | undefined;
}

/** Waits until `read` gives a migration in `phase` (failing at once on Failed), and returns it. */
export function phaseReached(
  read: () => VMMigration | undefined | Promise<VMMigration | undefined>,
  phase: MigrationPhase,
  timeoutMs = 60_000,
): Promise<VMMigration> {
  return eventually(
    async () => {
      const m = await read();
      return m?.status?.phase === phase || m?.status?.phase === MigrationPhase.FAILED
        ? m
        : undefined;
    },
    timeoutMs,
    `migration in phase ${MigrationPhase[phase]}`,
  ).then(
    (m) => {
      if (m.status?.phase !== phase) throw new Error(`the migration failed: ${m.status?.message}`);
      return m;
    },
    async (err: unknown) => {
      // Say where it stood.
      const m = await read();
      const where = `${MigrationPhase[m?.status?.phase ?? 0]}: ${m?.status?.message}`;
      throw new Error(`${(err as Error).message} (it is ${where})`, { cause: err });
    },
  );
}

/** Whether the migration's Ready condition holds. */
export function isReady(m: VMMigration): boolean {
  return (
    m.status?.conditions.some((c) => c.type === "Ready" && c.status === ConditionStatus.TRUE) ??
    false
  );
}

/**
 * The SHA-256 of each disk of a VM, read back from its provider through the
 * contract (an export of it, read chunk by chunk): what the VM's disks hold.
 */
export async function diskDigests(
  provider: ProviderClient,
  vmId: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const { disks } = await provider.describeDisks({ vmId });
  // The VM may run: read its disks as they are at a snapshot.
  const snap = await provider.snapshotCreate({ vmId, name: `readback-${Date.now()}` });
  if (snap.task) await provider.waitForTask(snap.task);
  for (const disk of disks) {
    const exportId = `readback-${vmId}-${disk.name}-${snap.snapshotId}`;
    const request = {
      exportId,
      vmId,
      diskName: disk.name,
      format: ImageFormat.RAW,
      snapshotId: snap.snapshotId,
    };
    const size = Number((await exportDisk(provider, request)).sizeBytes);
    const hash = createHash("sha256");
    for (let offset = 0; offset < size;) {
      const { chunk } = await provider.diskExportRead({
        exportId,
        offset: BigInt(offset),
        length: 2 << 20,
      });
      const content = chunk?.content;
      const length = content?.case === "data" ? content.value.length : Number(content?.value ?? 0n);
      if (!length) break;
      hash.update(content?.case === "data" ? content.value : new Uint8Array(length));
      offset += length;
    }
    await provider.diskExportEnd({ exportId });
    out[disk.name] = hash.digest("hex");
  }
  await provider.snapshotDelete({ vmId, snapshotId: snap.snapshotId });
  return out;
}

/** Two mock providers, a manager with the migration stack applied and its VM "web" Ready. */
export interface MigrationBed {
  source: ServerProcess;
  target: ServerProcess;
  tm: TestManager;
  stop(): Promise<void>;
}

/** Starts a `MigrationBed`: provider-mock with 16 MiB disks and `sourceArgs` or `targetArgs`. */
export async function startMigrationBed(
  sourceArgs: string[] = [],
  targetArgs: string[] = [],
): Promise<MigrationBed> {
  const started: ServerProcess[] = [];
  let tm: TestManager | undefined;
  const stop = async () => {
    await tm?.close();
    for (const p of started) await p.stop("SIGKILL");
  };
  try {
    const source = await spawnMock(["--disk-bytes", "16Mi", ...sourceArgs]);
    started.push(source);
    const target = await spawnMock(["--disk-bytes", "16Mi", ...targetArgs]);
    started.push(target);
    tm = await startTestManager();
    await tm.apply(migrationStack(source.url, target.url));
    await tm.ready("web");
    return { source, target, tm, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
