import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { PowerState as ProviderPowerState } from "@virtrigaud/contracts";
import {
  type ProviderClient,
  createProviderClient,
  createServiceClient,
} from "@virtrigaud/contracts/client";
import {
  ConditionStatus,
  type Event,
  EventType,
  Kind,
  ManagerService,
  type VirtualMachine,
  VirtualMachinePhase,
} from "@virtrigaud/proto/manager";
import { fromResource } from "../src/manifest/kinds.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { stack, vmManifest } from "./fixtures.js";
import { type ServerProcess, eventually, spawnManager, spawnMock } from "./processes.js";

/** A client of a manager process, with the few things these tests ask. */
function managerOf(process: ServerProcess) {
  const client = createServiceClient(ManagerService, process.url);
  return {
    process,
    async apply(yaml: string) {
      for (const { manifest } of parseManifests(yaml, "test"))
        await client.apply({ resource: decodeManifest(manifest) });
    },
    async vm(name: string): Promise<VirtualMachine | undefined> {
      try {
        const { resource } = await client.get({ kind: Kind.VIRTUAL_MACHINE, name });
        return fromResource(resource)?.message as VirtualMachine;
      } catch {
        return undefined;
      }
    },
    async events(name: string): Promise<Event[]> {
      return (await client.listEvents({ kind: Kind.VIRTUAL_MACHINE, name })).events;
    },
    delete: (name: string) => client.delete({ kind: Kind.VIRTUAL_MACHINE, name }),
    close: () => client.close(),
  };
}

const ready = (vm: VirtualMachine | undefined) =>
  vm?.status?.conditions.find((c) => c.type === "Ready");

const args = ["--health-interval", "300ms", "--drift-page-interval", "200ms"];

/**
 * Two managers, each with its own store, given the same manifests against
 * the same provider: the second must keep its hands off the VM the first
 * made (its uid label says whose it is), unless asked explicitly.
 */
describe("a VM that carries another manager's uid", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-owner-"));
  let mock: ServerProcess;
  let provider: ProviderClient;
  let first: ReturnType<typeof managerOf>;
  let second: ReturnType<typeof managerOf>;
  let firstUid = "";
  let vmId = "";

  beforeAll(async () => {
    mock = await spawnMock();
    provider = createProviderClient(mock.url);
    first = managerOf(await spawnManager(join(dir, "first"), args));
    second = managerOf(await spawnManager(join(dir, "second"), args));
  }, 60_000);
  afterAll(async () => {
    first.close();
    second.close();
    provider.close();
    await first.process.stop("SIGKILL");
    await second.process.stop("SIGKILL");
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is made by the first manager, off, with 2 CPUs", async () => {
    await first.apply(stack(mock.url));
    await first.apply(vmManifest("web-1", { powerState: "Off" }));
    const vm = await eventually(
      async () => {
        const v = await first.vm("web-1");
        return ready(v)?.status === ConditionStatus.TRUE ? v : undefined;
      },
      15_000,
      "web-1 Ready in the first manager",
    );
    firstUid = vm.metadata?.uid ?? "";
    vmId = vm.status?.id ?? "";
    expect((await provider.describe({ vmId })).vm?.labels["virtrigaud.io/uid"]).toBe(firstUid);
  });

  it("is neither adopted nor changed by the second manager, which says whose it is", async () => {
    // The same VM, declared on with 4 CPUs: adopting it would power it on and reconfigure it.
    await second.apply(stack(mock.url));
    await second.apply(vmManifest("web-1", { cpu: 4 }));
    const vm = await eventually(
      async () => {
        const v = await second.vm("web-1");
        return ready(v)?.reason === "OwnedByAnotherManager" ? v : undefined;
      },
      15_000,
      "OwnedByAnotherManager",
    );
    expect(ready(vm)?.status).toBe(ConditionStatus.FALSE);
    expect(ready(vm)?.message).toContain(`uid ${firstUid}`);
    expect(ready(vm)?.message).toContain(`virtrigaud.io/adopt-owner-uid=${firstUid}`);
    expect(vm.status?.phase).toBe(VirtualMachinePhase.FAILED);
    expect(vm.status?.id).toBe("");
    const warning = (await second.events("web-1")).find(
      (e) => e.reason === "OwnedByAnotherManager",
    );
    expect(warning?.type).toBe(EventType.WARNING);
    expect((await second.events("web-1")).map((e) => e.reason)).not.toContain("Adopted");
    // Several drift sweeps later, the VM is as the first manager keeps it.
    await new Promise((r) => setTimeout(r, 1500));
    const { vm: seen } = await provider.describe({ vmId });
    expect(seen?.powerState).toBe(ProviderPowerState.OFF);
    expect(seen?.resources?.cpu).toBe(2);
    expect((await provider.listVMs({})).vms.filter((v) => v.name === "web-1")).toHaveLength(1);
  });

  it("is left alone when the second manager's resource is deleted", async () => {
    await second.delete("web-1");
    await eventually(async () => (await second.vm("web-1")) === undefined, 15_000, "web-1 gone");
    const left = (await second.events("web-1")).filter((e) => e.reason === "OwnedByAnotherManager");
    expect(left.some((e) => e.message.startsWith("left web-1"))).toBe(true);
    // Never deleted, so never made again blank by the first manager.
    await new Promise((r) => setTimeout(r, 1000));
    const { exists, vm: seen } = await provider.describe({ vmId });
    expect(exists).toBe(true);
    expect(seen?.labels["virtrigaud.io/uid"]).toBe(firstUid);
    const kept = await first.vm("web-1");
    expect(kept?.status?.id).toBe(vmId);
    expect(ready(kept)?.status).toBe(ConditionStatus.TRUE);
    expect((await first.events("web-1")).map((e) => e.reason)).not.toContain("VMMissing");
  });

  it("is taken over when the annotation names its owner's uid, and then obeys the second manager", async () => {
    // The first manager goes (its store moves no more); the second takes over.
    first.close();
    await first.process.stop("SIGKILL");
    await second.apply(
      vmManifest("web-1", { cpu: 4 }).replace(
        "  labels:",
        `  annotations:\n    virtrigaud.io/adopt-owner-uid: ${firstUid}\n  labels:`,
      ),
    );
    const vm = await eventually(
      async () => {
        const v = await second.vm("web-1");
        return ready(v)?.status === ConditionStatus.TRUE && v?.status?.currentResources?.cpu === 4
          ? v
          : undefined;
      },
      15_000,
      "web-1 taken over, on with 4 CPUs",
    );
    expect(vm.status?.id).toBe(vmId);
    expect(vm.status?.adoptedOwnerUid).toBe(firstUid);
    expect((await second.events("web-1")).map((e) => e.reason)).toContain("Adopted");
    expect((await provider.describe({ vmId })).vm?.powerState).toBe(ProviderPowerState.ON);
    // Taken over, it is the second manager's to delete.
    await second.delete("web-1");
    await eventually(async () => (await second.vm("web-1")) === undefined, 15_000, "web-1 gone");
    expect((await provider.describe({ vmId })).exists).toBe(false);
  });
});
