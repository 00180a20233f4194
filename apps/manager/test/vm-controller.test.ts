import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { TempDirs } from "@virtrigaud/testbed";
import { PowerOperation, PowerState as ProviderPowerState } from "@virtrigaud/contracts";
import {
  AddressSource,
  ConditionStatus,
  Kind,
  PowerState,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { stack, vmManifest } from "./fixtures.js";
import { type TestManager, messageOf, providerClient, startTestManager } from "./harness.js";
import { type ServerProcess, eventually, providerCalls, spawnMock } from "./processes.js";

/** Applies web-1 and returns every version of it the API's watch sent, until it was Ready. */
async function versionsUntilReady(manager: TestManager): Promise<VirtualMachine[]> {
  // From the store's version now: every later change, however soon the watch opens.
  const { resourceVersion } = await manager.client.list({ kind: Kind.VIRTUAL_MACHINE });
  const stop = new AbortController();
  const seen: VirtualMachine[] = [];
  const watching = (async () => {
    const stream = manager.client.watch(
      { kind: Kind.VIRTUAL_MACHINE, name: "web-1", resourceVersion },
      { signal: stop.signal, timeoutMs: 30_000 },
    );
    for await (const change of stream) {
      const vm = change.resource && (messageOf(change.resource) as VirtualMachine | undefined);
      if (!vm) continue;
      seen.push(vm);
      const ready = vm.status?.conditions.find((c) => c.type === "Ready");
      if (ready?.status === ConditionStatus.TRUE) return;
    }
  })();
  await manager.apply(vmManifest("web-1"));
  try {
    await watching;
  } finally {
    stop.abort();
  }
  return seen;
}

describe("VirtualMachine controller, against provider-mock", () => {
  let mock: ServerProcess | undefined;
  let tm: TestManager | undefined;
  const temp = new TempDirs("mock-inv-");
  afterEach(async () => {
    await tm?.close();
    await mock?.stop();
    tm = mock = undefined;
    temp.removeAll();
  });

  const setup = async (mockArgs: string[] = []) => {
    mock = await spawnMock(mockArgs);
    tm = await startTestManager();
    await tm.apply(stack(mock.url));
    return { mock, tm };
  };

  it("creates the VM with its class, image, disks and network, and reports it", async () => {
    const { mock, tm } = await setup();
    await tm.apply(vmManifest("web-1"));
    const vm = await tm.ready("web-1");
    expect(vm.status?.powerState).toBe(PowerState.ON);
    expect(vm.status?.currentResources?.cpu).toBe(2);
    expect(vm.status?.currentResources?.memoryMib).toBe(2048);
    expect(vm.status?.ips.length).toBe(1);
    // The same address, typed: where it was learned and on which NIC.
    expect(vm.status?.addresses.map((a) => [a.address, a.source])).toEqual([
      [vm.status?.ips[0], AddressSource.GUEST_AGENT],
    ]);
    expect(vm.status?.addresses[0]?.macAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(vm.status?.conditions.find((c) => c.type === "AddressAssigned")).toMatchObject({
      status: ConditionStatus.TRUE,
      reason: "AddressReported",
    });
    expect(vm.status?.addressWait).toMatchObject({
      requiredForReady: false,
      policyFrom: "default",
    });
    expect(vm.status?.consoleUrl).toMatch(/^https:\/\//);
    const provider = providerClient(mock.url);
    const { vm: seen } = await provider.describe({ vmId: vm.status?.id ?? "" });
    provider.close();
    expect(seen?.name).toBe("web-1");
    expect(seen?.resources?.disks.map((d) => [d.name, d.sizeGib])).toEqual([
      ["root", 20],
      ["data", 10],
    ]);
    expect(seen?.resources?.networkInterfaces[0]?.network).toBe("default");
    expect(seen?.providerFields["image"]).toBe("path:/var/lib/libvirt/images/debian-12.qcow2");
    expect(seen?.labels["virtrigaud.io/uid"]).toBe(vm.metadata?.uid);
    expect(await tm.reasons(Kind.VIRTUAL_MACHINE, "web-1")).toEqual(["Creating", "Created"]);
  });

  // After Create, the manager looks at its task once before writing it down.
  it("acts on a Create's task that has already ended in the same reconcile: its status is not written with the task", async () => {
    const { mock, tm } = await setup();
    const versions = await versionsUntilReady(tm);
    // Applied, the intent (Provisioning, no id yet), then Ready: never a version waiting on the task.
    expect(versions.map((vm) => vm.status?.lastTaskRef ?? "")).toEqual(versions.map(() => ""));
    expect(versions.at(-1)?.status?.id).toBeTruthy();
    // One Create, and one look at its task: the look the follower would have made first.
    const calls = await providerCalls(mock.opsUrl ?? "");
    expect({ create: calls["Create"], getTask: calls["GetTask"] }).toEqual({
      create: 1,
      getTask: 1,
    });
  });

  it("runs each reconcile of a VM once its provider's connection admits it", async () => {
    const { tm } = await setup();
    const conn = await eventually(
      () => tm.manager.connections.get("default/mock"),
      10_000,
      "the connection to provider-mock",
    );
    let admitted = 0;
    const admit = conn.admitReconcile.bind(conn);
    conn.admitReconcile = <T>(reconcile: () => Promise<T>) => {
      admitted++;
      return admit(reconcile);
    };
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    expect(admitted).toBeGreaterThanOrEqual(1);
  });

  it("writes a Create's task that still runs to the status, follows it, and is Ready when it ends", async () => {
    const { tm } = await setup(["--latency", "400ms"]);
    const versions = await versionsUntilReady(tm);
    const waiting = versions.find((vm) => vm.status?.lastTaskRef);
    expect(waiting?.status?.lastTaskOperation).toBe("create");
    expect(waiting?.status?.id).toBeTruthy();
    expect(versions.at(-1)?.status).toMatchObject({ lastTaskRef: "", id: waiting?.status?.id });
  });

  it("waits for a missing class and creates the VM once it is applied", async () => {
    mock = await spawnMock();
    tm = await startTestManager();
    await tm.apply(vmManifest("web-1"));
    await tm.apply(stack(mock.url).split("---")[0] ?? "");
    const tmr = tm;
    await eventually(
      () => tmr.vm("web-1")?.status?.conditions.find((c) => c.reason === "ClassNotFound"),
      5000,
      "ClassNotFound",
    );
    await tm.apply(stack(mock.url));
    await tm.ready("web-1");
  });

  it("reconfigures CPU, memory and disks when the spec changes", async () => {
    const { tm } = await setup();
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(vmManifest("web-1", { cpu: 4, dataGiB: 30 }));
    const tmr = tm;
    const vm = await eventually(
      () => {
        const v = tmr.vm("web-1");
        return v?.status?.currentResources?.cpu === 4 &&
          v.status.disks.find((d) => d.name === "data")?.sizeGib === 30
          ? v
          : undefined;
      },
      10_000,
      "cpu 4 and data 30 GiB",
    );
    expect(
      vm.status?.conditions.find((c) => c.type === "RestartRequired")?.status ??
        ConditionStatus.FALSE,
    ).toBe(ConditionStatus.FALSE);
    expect(await tm.reasons(Kind.VIRTUAL_MACHINE, "web-1")).toContain("Reconfiguring");
  });

  it("reports RestartRequired when the provider needs a power cycle, and clears it after one", async () => {
    const { tm } = await setup(["--disable", "online_reconfigure"]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(vmManifest("web-1", { cpu: 4 }));
    const tmr = tm;
    await eventually(
      () =>
        tmr
          .vm("web-1")
          ?.status?.conditions.find(
            (c) => c.type === "RestartRequired" && c.status === ConditionStatus.TRUE,
          ),
      10_000,
      "RestartRequired",
    );
    expect(tm.vm("web-1")?.status?.currentResources?.cpu).toBe(2);
    await tm.apply(vmManifest("web-1", { cpu: 4, powerState: "Off" }));
    await eventually(
      () => tmr.vm("web-1")?.status?.currentResources?.cpu === 4,
      10_000,
      "cpu 4 after power off",
    );
    await eventually(
      () =>
        tmr.vm("web-1")?.status?.conditions.find((c) => c.type === "RestartRequired")?.status ===
        ConditionStatus.FALSE,
      10_000,
      "RestartRequired cleared",
    );
  });

  it("corrects power drift seen by the ListVMs sweep", async () => {
    const { mock, tm } = await setup();
    await tm.apply(vmManifest("web-1"));
    const vm = await tm.ready("web-1");
    const provider = providerClient(mock.url);
    const { task } = await provider.power({
      vmId: vm.status?.id ?? "",
      operation: PowerOperation.OFF,
    });
    await provider.waitForTask(task);
    const id = vm.status?.id ?? "";
    await eventually(
      async () => (await provider.describe({ vmId: id })).vm?.powerState === ProviderPowerState.ON,
      10_000,
      "power back on",
    );
    provider.close();
    expect(await tm.reasons(Kind.VIRTUAL_MACHINE, "web-1")).toContain("PowerOn");
  });

  it("asks for an OffGraceful shutdown once, even when the guest ignores it", async () => {
    const { mock, tm } = await setup(["--fault", "power:ignore-acpi"]);
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await tm.apply(vmManifest("web-1", { powerState: "OffGraceful" }));
    const tmr = tm;
    await eventually(
      async () => (await tmr.reasons(Kind.VIRTUAL_MACHINE, "web-1")).includes("Shutdown"),
      5000,
      "Shutdown",
    );
    // Several sweeps see the VM still on; no second shutdown is asked.
    await new Promise((r) => setTimeout(r, 1500));
    const calls = await providerCalls(mock.opsUrl ?? "");
    expect(calls["Power"]).toBe(1);
    expect(
      (await tm.reasons(Kind.VIRTUAL_MACHINE, "web-1")).filter((r) => r === "Shutdown"),
    ).toHaveLength(1);
  });

  it("reboots a running VM once per value of virtrigaud.io/reboot, never one created with it or not running", async () => {
    const { mock, tm } = await setup();
    const withReboot = (value: string, extra: Parameters<typeof vmManifest>[1] = {}) =>
      vmManifest("web-1", extra).replace(
        "  labels:\n",
        `  annotations:\n    virtrigaud.io/reboot: "${value}"\n  labels:\n`,
      );
    await tm.apply(withReboot("first"));
    const created = await tm.ready("web-1");
    expect(created.status?.rebootRequest).toBe("first");
    const tmr = tm;
    const calls = async () => (await providerCalls(mock.opsUrl ?? ""))["Power"] ?? 0;
    expect(await calls()).toBe(0);

    await tm.apply(withReboot("second"));
    await eventually(
      async () => (await tmr.reasons(Kind.VIRTUAL_MACHINE, "web-1")).includes("Rebooting"),
      5000,
      "Rebooting",
    );
    expect(tm.vm("web-1")?.status?.rebootRequest).toBe("second");
    expect(await calls()).toBe(1);
    // The same value again, with another change: no second reboot.
    await tm.apply(withReboot("second", { cpu: 4 }));
    await eventually(() => tmr.vm("web-1")?.status?.currentResources?.cpu === 4, 5000, "cpu 4");
    await new Promise((r) => setTimeout(r, 500));
    expect(await calls()).toBe(1);

    await tm.apply(withReboot("third", { cpu: 4, powerState: "Off" }));
    await eventually(
      async () => (await tmr.reasons(Kind.VIRTUAL_MACHINE, "web-1")).includes("RebootSkipped"),
      5000,
      "RebootSkipped",
    );
    expect(
      (await tm.reasons(Kind.VIRTUAL_MACHINE, "web-1")).filter((r) => r === "Rebooting"),
    ).toHaveLength(1);
  });

  it("holds Ready for an address when the policy requires one, then names the sources tried", async () => {
    const { tm } = await setup(["--fault", "describe:no-ip", "--fault", "listVMs:no-ip"]);
    const withPolicy = (required: boolean) =>
      vmManifest("web-1").replace(
        "  powerState: On\n",
        `  powerState: On\n  addressPolicy:\n    requiredForReady: ${required}\n    timeout: 2s\n    sources: [GuestAgent, DHCPLease]\n`,
      );
    await tm.apply(withPolicy(true));
    const tmr = tm;
    const ready = () => tmr.vm("web-1")?.status?.conditions.find((c) => c.type === "Ready");
    const waiting = await eventually(
      () => (ready()?.reason === "WaitingForAddress" ? tmr.vm("web-1") : undefined),
      5000,
      "WaitingForAddress",
    );
    expect(waiting?.status?.powerState).toBe(PowerState.ON);
    expect(waiting?.status?.addressWait?.deadline).toBeDefined();
    await eventually(() => ready()?.reason === "AddressTimeout", 5000, "AddressTimeout");
    expect(ready()).toMatchObject({ status: ConditionStatus.FALSE });
    expect(ready()?.message).toContain("no address from GuestAgent or DHCPLease within 2s");
    // Without the requirement, Ready is Ready; the address condition still tells.
    await tm.apply(withPolicy(false));
    await tm.ready("web-1");
    expect(
      tm.vm("web-1")?.status?.conditions.find((c) => c.type === "AddressAssigned"),
    ).toMatchObject({ status: ConditionStatus.FALSE, reason: "AddressTimeout" });
  });

  it("adopts a VM of the same name that the provider already has", async () => {
    const dir = temp.make();
    writeFileSync(
      join(dir, "inventory.json"),
      JSON.stringify({ vms: [{ name: "legacy", cpu: 2, memoryMib: 2048, powerState: "on" }] }),
    );
    const { mock, tm } = await setup(["--inventory", join(dir, "inventory.json")]);
    await tm.apply(vmManifest("legacy"));
    const vm = await tm.ready("legacy");
    expect(await tm.reasons(Kind.VIRTUAL_MACHINE, "legacy")).toContain("Adopted");
    const provider = providerClient(mock.url);
    const { vms } = await provider.listVMs({});
    provider.close();
    expect(vms.filter((v) => v.name === "legacy")).toHaveLength(1);
    expect(vm.status?.id).toBe(vms.find((v) => v.name === "legacy")?.id);
  });

  it("deletes the VM at the provider before the resource goes", async () => {
    const { mock, tm } = await setup();
    await tm.apply(vmManifest("web-1"));
    const vm = await tm.ready("web-1");
    await tm.client.delete({ kind: Kind.VIRTUAL_MACHINE, namespace: "default", name: "web-1" });
    const tmr = tm;
    await eventually(() => tmr.vm("web-1") === undefined, 10_000, "resource gone");
    const provider = providerClient(mock.url);
    expect((await provider.describe({ vmId: vm.status?.id ?? "" })).exists).toBe(false);
    provider.close();
  });

  it("lets a force-delete annotation remove a VM whose provider is gone", async () => {
    const { mock, tm } = await setup();
    await tm.apply(vmManifest("web-1"));
    await tm.ready("web-1");
    await mock.stop("SIGKILL");
    await tm.client.delete({ kind: Kind.VIRTUAL_MACHINE, namespace: "default", name: "web-1" });
    const tmr = tm;
    await eventually(
      () => tmr.vm("web-1")?.status?.conditions.find((c) => c.reason === "DeleteBlocked"),
      10_000,
      "DeleteBlocked",
    );
    await tm.apply(
      vmManifest("web-1").replace(
        "  labels:",
        '  annotations:\n    virtrigaud.io/force-delete: "true"\n  labels:',
      ),
    );
    await eventually(() => tmr.vm("web-1") === undefined, 10_000, "resource gone");
    expect(await tm.reasons(Kind.VIRTUAL_MACHINE, "web-1")).toContain("ForceDeleted");
  });
});
