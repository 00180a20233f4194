import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import {
  ConditionStatus,
  ClonePhase,
  ImagePhase,
  Kind,
  PowerState,
  SnapshotPhase,
  type VMImage,
  type VMClone,
} from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, providerClient, startTestManager } from "./harness.js";
import { type ServerProcess, eventually, providerCalls, spawnMock } from "./processes.js";

const snapshotYaml = (
  name: string,
  vm: string,
  retention = "",
) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMSnapshot
metadata:
  name: ${name}
spec:
  vmRef:
    name: ${vm}
  snapshotConfig:
    description: test
${retention}`;

describe("VMSnapshot, VMClone and VMImage controllers, against provider-mock", () => {
  let mock: ServerProcess | undefined;
  let tm: TestManager | undefined;
  afterEach(async () => {
    await tm?.close();
    await mock?.stop();
    tm = mock = undefined;
  });

  const setup = async (mockArgs: string[] = []) => {
    mock = await spawnMock(mockArgs);
    tm = await startTestManager();
    await tm.apply(stack(mock.url));
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    return { mock, tm };
  };

  const snapReady = (tm: TestManager, name: string) =>
    eventually(
      () =>
        tm.snapshot(name)?.status?.phase === SnapshotPhase.READY ? tm.snapshot(name) : undefined,
      10_000,
      `${name} Ready`,
    );

  it("takes a snapshot, reverts to it once per request, and deletes it at the provider", async () => {
    const { mock, tm } = await setup();
    await tm.apply(snapshotYaml("s1", "web-1"));
    const snap = await snapReady(tm, "s1");
    const vmId = tm.vm("web-1")?.status?.id ?? "";
    const provider = providerClient(mock.url);
    expect((await provider.snapshotList({ vmId })).snapshots.map((s) => s.name)).toEqual(["s1"]);

    const reverts = async () => (await providerCalls(mock.opsUrl ?? ""))["SnapshotRevert"];
    await tm.apply(vmManifest("web-1", { revertTo: "s1" }));
    await eventually(() => tm.vm("web-1")?.status?.revertedTo === "s1", 10_000, "reverted");
    await tm.ready("web-1");
    // A later change of the spec (power off) that still names s1 does not
    // revert again: what the guest wrote since stays.
    await tm.apply(vmManifest("web-1", { revertTo: "s1", powerState: "Off" }));
    await eventually(
      () => tm.vm("web-1")?.status?.powerState === PowerState.OFF,
      10_000,
      "powered off",
    );
    await new Promise((r) => setTimeout(r, 800));
    expect(await reverts()).toBe(1);
    expect(tm.vm("web-1")?.status?.revertedTo).toBe("s1");

    // Named no more, the revert is forgotten; named again, s1 is reverted to again.
    await tm.apply(vmManifest("web-1", { powerState: "Off" }));
    await eventually(() => tm.vm("web-1")?.status?.revertedTo === "", 10_000, "forgotten");
    expect(tm.vm("web-1")?.status?.revertedGeneration).toBe(0n);
    await tm.apply(vmManifest("web-1", { revertTo: "s1", powerState: "Off" }));
    await eventually(() => tm.vm("web-1")?.status?.revertedTo === "s1", 10_000, "reverted again");
    await eventually(async () => (await reverts()) === 2, 10_000, "second SnapshotRevert");

    await tm.apply(vmManifest("web-1"));
    await tm.client.delete({ kind: Kind.VM_SNAPSHOT, namespace: "default", name: "s1" });
    await eventually(() => tm.snapshot("s1") === undefined, 10_000, "snapshot gone");
    expect((await provider.snapshotList({ vmId })).snapshots).toEqual([]);
    provider.close();
    expect(snap.status?.snapshotId).toMatch(/^snap-/);
  });

  it("keeps only the newest maxCount snapshots of a VM", async () => {
    const { tm } = await setup();
    const retention = "  retentionPolicy:\n    maxCount: 2\n";
    for (const name of ["a1", "a2", "a3"]) {
      await tm.apply(snapshotYaml(name, "web-1", retention));
      await snapReady(tm, name);
      await new Promise((r) => setTimeout(r, 20));
    }
    await eventually(() => tm.snapshot("a1") === undefined, 10_000, "oldest deleted");
    expect(tm.snapshot("a2")?.status?.phase).toBe(SnapshotPhase.READY);
    expect(tm.snapshot("a3")?.status?.phase).toBe(SnapshotPhase.READY);
    expect(await tm.reasons(Kind.VM_SNAPSHOT, "a1")).toContain("Retention");
  });

  it("expires a snapshot older than maxAge", async () => {
    const { tm } = await setup();
    await tm.apply(snapshotYaml("short", "web-1", "  retentionPolicy:\n    maxAge: 1s\n"));
    await snapReady(tm, "short");
    await eventually(() => tm.snapshot("short") === undefined, 10_000, "expired and deleted");
    expect(await tm.reasons(Kind.VM_SNAPSHOT, "short")).toEqual(
      expect.arrayContaining(["Created", "Expired", "Deleted"]),
    );
  });

  it("fails a snapshot the provider does not support, without retrying", async () => {
    const { mock, tm } = await setup(["--disable", "snapshots"]);
    await tm.apply(snapshotYaml("s1", "web-1"));
    await eventually(
      () => tm.snapshot("s1")?.status?.phase === SnapshotPhase.FAILED,
      10_000,
      "Failed",
    );
    expect(tm.snapshot("s1")?.status?.conditions.find((c) => c.type === "Ready")?.reason).toBe(
      "Unsupported",
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await providerCalls(mock.opsUrl ?? ""))["SnapshotCreate"]).toBe(1);
  });

  it("clones a VM into a new VirtualMachine bound to the clone", async () => {
    const { mock, tm } = await setup();
    await tm.apply(`apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClone
metadata:
  name: c1
spec:
  source:
    vmRef:
      name: web-1
  target:
    name: web-2
    labels:
      role: copy
  options:
    type: LinkedClone
`);
    const clone = await eventually(
      () => {
        const c = tm.manager.store.get(Kind.VM_CLONE, "default", "c1") as VMClone | undefined;
        return c?.status?.phase === ClonePhase.READY ? c : undefined;
      },
      10_000,
      "clone Ready",
    );
    const target = await tm.ready("web-2");
    expect(target.metadata?.labels["role"]).toBe("copy");
    expect(target.status?.id).toBe(clone.status?.vmId);
    const provider = providerClient(mock.url);
    const { vm } = await provider.describe({ vmId: target.status?.id ?? "" });
    provider.close();
    expect(vm?.name).toBe("web-2");
    expect(vm?.providerFields["linkedTo"]).toBeDefined();
    // Off, as options.powerOn is false.
    expect(target.status?.powerState).toBe(2);
  });

  it("prepares a downloadable image on the provider and creates VMs from it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "img-"));
    const file = join(dir, "disk.qcow2");
    writeFileSync(file, "not really a disk");
    const digest = createHash("sha256").update("not really a disk").digest("hex");
    try {
      const { mock, tm } = await setup();
      await tm.apply(`apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: downloaded
spec:
  source:
    libvirt:
      url: file://${file}
      checksum: ${digest}
      checksumType: sha256
      format: qcow2
`);
      const image = await eventually(
        () => {
          const i = tm.manager.store.get(Kind.VM_IMAGE, "default", "downloaded") as
            VMImage | undefined;
          return i?.status?.phase === ImagePhase.READY ? i : undefined;
        },
        10_000,
        "image Ready",
      );
      expect(image.status?.availableOn).toEqual(["mock"]);
      await tm.apply(vmManifest("from-image").replace("name: debian", "name: downloaded"));
      const vm = await tm.ready("from-image");
      const provider = providerClient(mock.url);
      const { vm: seen } = await provider.describe({ vmId: vm.status?.id ?? "" });
      provider.close();
      expect(seen?.providerFields["image"]).toBe("template:downloaded");
      // Once each: the stack's path image (checked) and this one (downloaded).
      expect((await providerCalls(mock.opsUrl ?? ""))["ImagePrepare"]).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("counts the VMs that use a class and a network, and refuses to delete them while used", async () => {
    const { tm } = await setup();
    await eventually(
      () => {
        const c = tm.manager.store.get(Kind.VM_CLASS, "default", "small") as
          { status?: { usedByVms: number } } | undefined;
        return c?.status?.usedByVms === 1;
      },
      10_000,
      "usedByVMs 1",
    );
    await expect(
      tm.client.delete({ kind: Kind.VM_CLASS, namespace: "default", name: "small" }),
    ).rejects.toThrow(/used by VirtualMachine default\/web-1/);
    await expect(
      tm.client.delete({
        kind: Kind.VM_NETWORK_ATTACHMENT,
        namespace: "default",
        name: "default-net",
      }),
    ).rejects.toThrow(/used by/);
    const network = tm.manager.store.get(Kind.VM_NETWORK_ATTACHMENT, "default", "default-net") as {
      status?: { connectedVms: number; conditions: Array<{ type: string; status: number }> };
    };
    expect(network.status?.connectedVms).toBe(1);
    expect(network.status?.conditions.find((c) => c.type === "Ready")?.status).toBe(
      ConditionStatus.TRUE,
    );
  });
});
