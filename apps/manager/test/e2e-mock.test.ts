import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createProviderClient } from "@virtrigaud/contracts/client";
import { stack, vmManifest } from "./fixtures.js";
import {
  type ServerProcess,
  eventually,
  freePort,
  metricValue,
  providerCalls,
  scrape,
  spawnManager,
  spawnMock,
  spawnVrtg,
  vrtg,
} from "./processes.js";

type Json = Record<string, unknown>;

/** The value at a dotted path in parsed JSON. */
function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) current = (current as Json | undefined)?.[key];
  return current;
}

/** End to end: provider-mock, virtrigaud-manager and vrtg as separate processes on loopback. */
describe("manager end to end with provider-mock", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-e2e-"));
  let mock: ServerProcess;
  let manager: ServerProcess;
  let mockPort: number;
  const mockArgs = () => [
    "--listen",
    `127.0.0.1:${mockPort}`,
    "--state",
    join(dir, "mock-state.json"),
    "--latency",
    "50ms",
  ];
  const run = (...args: string[]) => vrtg(manager.url, args);
  const getJson = async (kind: string, name: string): Promise<Json> => {
    const result = await run("get", kind, name, "-o", "json");
    if (result.code !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout) as Json;
  };
  const condition = (resource: Json, type: string) =>
    (at(resource, "status.conditions") as Json[] | undefined)?.find((c) => c["type"] === type);

  beforeAll(async () => {
    mockPort = await freePort();
    mock = await spawnMock(mockArgs());
    manager = await spawnManager(join(dir, "data"), [
      "--health-interval",
      "300ms",
      "--drift-page-interval",
      "200ms",
      // A provider that comes back is probed within 2 s, not after up to 30 s.
      "--max-probe-interval",
      "2s",
    ]);
    writeFileSync(join(dir, "stack.yaml"), stack(mock.url));
    writeFileSync(join(dir, "vm.yaml"), vmManifest("web-1"));
  });
  afterAll(async () => {
    await manager?.stop();
    await mock?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies a VM and waits until it is Ready", async () => {
    const applied = await run("apply", "-f", join(dir, "stack.yaml"), "-f", join(dir, "vm.yaml"));
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toContain("virtualmachine/web-1 created");
    const waited = await run("wait", "vm", "web-1", "--for", "condition=Ready", "--timeout", "20s");
    expect(waited).toMatchObject({ code: 0, stdout: "virtualmachine/web-1 condition met\n" });
    const table = await run("get", "vm");
    expect(table.stdout).toMatch(/^NAME\s+PHASE\s+READY\s+PROVIDER\s+CLASS\s+IMAGE\s+IPS\s+AGE\n/);
    expect(table.stdout).toMatch(/web-1\s+Running\s+True\s+mock\s+small\s+debian\s+10\.77\./);
  });

  it("serves its metrics on /metrics: resources, reconciles, provider calls, queues and circuits", async () => {
    const page = await scrape(manager);
    expect(
      metricValue(page, "virtrigaud_manager_resources", {
        kind: "VirtualMachine",
        phase: "Running",
      }),
    ).toBe(1);
    expect(
      metricValue(page, "virtrigaud_manager_resources", { kind: "Provider", phase: "Ready" }),
    ).toBe(1);
    expect(
      metricValue(page, "virtrigaud_manager_resources", { kind: "VMClass", phase: "None" }),
    ).toBe(1);
    expect(
      metricValue(page, "virtrigaud_manager_reconciles_total", {
        kind: "VirtualMachine",
        result: "success",
      }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(page, "virtrigaud_manager_reconciles_total", {
        kind: "Provider",
        result: "requeue",
      }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(page, "virtrigaud_manager_reconcile_duration_count", {
        kind: "VirtualMachine",
      }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(page, "virtrigaud_manager_provider_calls_total", {
        provider: "default/mock",
        method: "create",
        code: "ok",
      }),
    ).toBe(1);
    expect(metricValue(page, "virtrigaud_manager_queue_depth", { queue: "vm" })).toBeDefined();
    expect(
      metricValue(page, "virtrigaud_manager_provider_circuit_open", { provider: "default/mock" }),
    ).toBe(0);
    // No label carries a VM's name.
    expect(page).not.toContain("web-1");
  });

  it("reconfigures the VM when its cpu changes", async () => {
    writeFileSync(join(dir, "vm.yaml"), vmManifest("web-1", { cpu: 4 }));
    expect((await run("apply", "-f", join(dir, "vm.yaml"))).stdout).toContain(
      "virtualmachine/web-1 configured",
    );
    const vm = await eventually(
      async () => {
        const v = await getJson("vm", "web-1");
        return at(v, "status.currentResources.cpu") === 4 ? v : undefined;
      },
      20_000,
      "cpu 4",
    );
    expect(condition(vm, "Ready")?.["status"]).toBe("True");
    const describe = await run("describe", "vm", "web-1");
    expect(describe.stdout).toMatch(/Reconfiguring\s+\S+\s+1\s+cpu 2→4/);
  });

  it("takes a snapshot and reverts the VM to it", async () => {
    expect((await run("snapshot", "create", "web-1", "before-upgrade")).code).toBe(0);
    expect(
      (
        await run(
          "wait",
          "snapshot",
          "before-upgrade",
          "--for",
          "condition=Ready",
          "--timeout",
          "20s",
        )
      ).code,
    ).toBe(0);
    const snap = await getJson("vmsnapshot", "before-upgrade");
    expect(at(snap, "status.snapshotID")).toMatch(/^snap-/);
    expect((await run("snapshot", "revert", "web-1", "before-upgrade")).stdout).toContain(
      "reverting to before-upgrade",
    );
    await eventually(
      async () => {
        const v = await getJson("vm", "web-1");
        return at(v, "status.revertedTo") === "before-upgrade" &&
          condition(v, "Ready")?.["status"] === "True"
          ? v
          : undefined;
      },
      20_000,
      "reverted and Ready",
    );
    expect((await providerCalls(mock.opsUrl ?? ""))["SnapshotRevert"]).toBe(1);
    expect((await run("events", "vm", "web-1")).stdout).toMatch(
      /Reverting\s+virtualmachine\/web-1\s+reverting to VMSnapshot before-upgrade/,
    );
  });

  it("reverts once: a later change of the spec keeps the guest's writes, snapshot revert reverts again", async () => {
    const reverts = async () => (await providerCalls(mock.opsUrl ?? ""))["SnapshotRevert"];
    const applyVm = async (powerState: string) => {
      writeFileSync(
        join(dir, "vm.yaml"),
        vmManifest("web-1", { cpu: 4, revertTo: "before-upgrade", powerState }),
      );
      expect((await run("apply", "-f", join(dir, "vm.yaml"))).code).toBe(0);
      await eventually(
        async () => at(await getJson("vm", "web-1"), "status.powerState") === powerState,
        20_000,
        `powered ${powerState}`,
      );
    };
    // Power off, as the console's button does: the spec still names the snapshot.
    await applyVm("Off");
    await new Promise((r) => setTimeout(r, 500));
    expect(await reverts()).toBe(1);

    const again = await run("snapshot", "revert", "web-1", "before-upgrade");
    expect(again).toMatchObject({ code: 0, stderr: "" });
    expect(again.stdout).toBe(
      "virtualmachine/web-1: the revert to before-upgrade was done; cleared spec.snapshot.revertToRef\n" +
        "virtualmachine/web-1 reverting to before-upgrade\n",
    );
    await eventually(async () => (await reverts()) === 2, 20_000, "reverted again");
    const vm = await getJson("vm", "web-1");
    expect(at(vm, "status.revertedTo")).toBe("before-upgrade");
    expect(at(vm, "spec.snapshot.revertToRef.name")).toBe("before-upgrade");

    await applyVm("On");
    await new Promise((r) => setTimeout(r, 500));
    expect(await reverts()).toBe(2);
  });

  it("clones the VM", async () => {
    writeFileSync(
      join(dir, "clone.yaml"),
      `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClone
metadata:
  name: web-1-copy
spec:
  source:
    vmRef:
      name: web-1
  target:
    name: web-2
  options:
    type: FullClone
    powerOn: true
`,
    );
    expect((await run("apply", "-f", join(dir, "clone.yaml"))).code).toBe(0);
    expect(
      (await run("wait", "vmclone", "web-1-copy", "--for", "condition=Ready", "--timeout", "20s"))
        .code,
    ).toBe(0);
    const web2 = await getJson("vm", "web-2");
    expect(condition(web2, "Ready")?.["status"]).toBe("True");
    const provider = createProviderClient(mock.url);
    const { vms } = await provider.listVMs({});
    provider.close();
    expect(vms.map((v) => v.name).sort()).toEqual(["web-1", "web-2"]);
  });

  it("opens the circuit when the provider goes down, reports it on the VM, and recovers", async () => {
    await mock.stop("SIGKILL");
    await eventually(
      async () => {
        const v = await getJson("vm", "web-1");
        return condition(v, "Ready")?.["reason"] === "ProviderUnavailable" ? v : undefined;
      },
      20_000,
      "ProviderUnavailable",
    );
    // A revert asked again while the manager cannot act on it: vrtg waits for
    // the manager to forget the revert done, then gives up, saying so.
    const stuck = await run("snapshot", "revert", "web-1", "before-upgrade", "--timeout", "1s");
    expect(stuck.code).toBe(6);
    expect(stuck.stderr).toContain(
      "timed out after 1s waiting for the manager to clear status.revertedTo of virtualmachine/web-1",
    );
    const provider = await getJson("provider", "mock");
    expect(at(provider, "status.circuit")).toBe("Open");
    expect(at(provider, "status.phase")).toBe("Unavailable");
    const open = await scrape(manager);
    expect(
      metricValue(open, "virtrigaud_manager_provider_circuit_open", { provider: "default/mock" }),
    ).toBe(1);
    expect(
      metricValue(open, "virtrigaud_manager_provider_calls_total", {
        provider: "default/mock",
        code: "unavailable",
      }),
    ).toBeGreaterThan(0);
    mock = await spawnMock(mockArgs());
    await eventually(
      async () => {
        const v = await getJson("vm", "web-1");
        return condition(v, "Ready")?.["status"] === "True" ? v : undefined;
      },
      20_000,
      "Ready again",
    );
    expect(at(await getJson("provider", "mock"), "status.circuit")).toBe("Closed");
    expect(
      metricValue(await scrape(manager), "virtrigaud_manager_provider_circuit_open", {
        provider: "default/mock",
      }),
    ).toBe(0);
    const events = (await run("events", "provider", "mock")).stdout;
    expect(events).toMatch(/ProviderUnavailable/);
    expect(events).toMatch(/ProviderReady/);
  });

  it("deletes the VMs and sees them gone at the provider", async () => {
    const deleted = await run("delete", "vm", "web-1", "web-2", "--wait", "--timeout", "20s");
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain("virtualmachine/web-1 deleted");
    expect((await run("get", "vm", "web-1")).code).toBe(3);
    const provider = createProviderClient(mock.url);
    const { vms } = await provider.listVMs({});
    provider.close();
    expect(vms).toEqual([]);
  });

  it("ends open watches when SIGTERM drains it, and exits without waiting out the drain timeout", async () => {
    // A manager of its own, which the test stops: a retry of it (CI retries a
    // failed test once) then finds a manager to stop again, and the tests
    // before it keep theirs.
    const drained = await spawnManager(join(dir, `drained-${Date.now()}`));
    try {
      expect((await vrtg(drained.url, ["apply", "-f", join(dir, "stack.yaml")])).code).toBe(0);
      const watch = spawnVrtg(drained.url, ["get", "providers", "-w"]);
      // The list is printed first; then the only call is the watch, open once
      // the manager counts a call in flight.
      await eventually(() => /^NAME\s+TYPE/.test(watch.stdout()), 10_000, "the list");
      await eventually(
        async () => metricValue(await scrape(drained), "rpc_server_active_requests") === 1,
        10_000,
        "the watch to open",
      );
      const started = Date.now();
      // The drain timeout is the default 30 s: ending before it means the watch was ended, not aborted.
      expect(await drained.stop("SIGTERM")).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      const ended = await watch.result;
      expect(ended.stderr).toBe("");
      expect(ended.code).toBe(0);
    } finally {
      await drained.stop("SIGKILL");
    }
  });
});
