import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createProviderClient } from "@virtrigaud/contracts/client";
import {
  type ServerProcess,
  eventually,
  metricValue,
  providerCalls,
  scrape,
  spawnLibvirt,
  spawnManager,
  vrtg,
} from "./processes.js";
import { libvirtHostFlags, libvirtTestbed, removeLibvirtObjects } from "@virtrigaud/testbed";

const run = promisify(execFile);

type Json = Record<string, unknown>;

/** The value at a dotted path in parsed JSON. */
function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) current = (current as Json | undefined)?.[key];
  return current;
}

const condition = (resource: Json, type: string) =>
  (at(resource, "status.conditions") as Json[] | undefined)?.find((c) => c["type"] === type);

/**
 * End to end against a real libvirtd: provider-libvirt reaches the test
 * bed's daemon over sshd, and the manager and vrtg run as processes. The
 * guest boots a blank disk under TCG (it sits in the BIOS), which is all a
 * lifecycle needs. What the manager reports is checked against libvirtd
 * itself with virsh.
 */
describe("manager end to end with provider-libvirt", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-e2e-libvirt-"));
  const suffix = randomBytes(3).toString("hex");
  const name = `mgr-e2e-${suffix}`;
  const cloneName = `${name}-copy`;
  const pool = `vrtg-manager-e2e-${suffix}`;
  let poolDir: string;
  let image: string;
  let provider: ServerProcess | undefined;
  let manager: ServerProcess | undefined;
  let providerArgs: string[] = [];
  const virsh = async (...args: string[]) =>
    (await run("virsh", ["-q", "-c", libvirtTestbed().uri, ...args])).stdout.trim();
  /** The domain's vCPUs, live or in its persistent definition, as libvirtd counts them. */
  const vcpus = async (domain: string, which: "--live" | "--config") =>
    Number(await virsh("vcpucount", domain, "--active", which));
  const cli = (...args: string[]) => vrtg(manager?.url ?? "", args);
  const getJson = async (kind: string, resource: string): Promise<Json> => {
    const result = await cli("get", kind, resource, "-o", "json");
    if (result.code !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout) as Json;
  };
  const calls = () => providerCalls(provider?.opsUrl ?? "");
  const stack = () => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: kvm
spec:
  type: libvirt
  endpoint: ${provider?.url}
  healthCheck:
    failureThreshold: 2
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: tiny
spec:
  cpu: 1
  memory: 256Mi
  firmware: BIOS
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: blank
spec:
  source:
    libvirt:
      path: ${image}
`;
  const vmManifest = (powerState: string, extra: { cpu?: number; revertTo?: string } = {}) =>
    `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ${name}
spec:
  providerRef:
    name: kvm
  classRef:
    name: tiny
  imageRef:
    name: blank
  powerState: ${powerState}
${extra.cpu ? `  resources:\n    cpu: ${extra.cpu}\n` : ""}${extra.revertTo ? `  snapshot:\n    revertToRef:\n      name: ${extra.revertTo}\n` : ""}`;
  const apply = async (file: string, text: string) => {
    writeFileSync(join(dir, file), text);
    const applied = await cli("apply", "-f", join(dir, file));
    expect(applied.stderr).toBe("");
    return applied.stdout;
  };

  beforeAll(async () => {
    const bed = libvirtTestbed();
    // A pool and an image of this run's own in the test bed's directory.
    poolDir = join(bed.dir, "manager-e2e", suffix);
    mkdirSync(poolDir, { recursive: true });
    image = join(poolDir, "..", `blank-${suffix}.qcow2`);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
    providerArgs = [
      ...libvirtHostFlags(bed),
      "--storage-pool",
      pool,
      "--create-pool-dir",
      poolDir,
      "--domain-type",
      "qemu",
      "--shutdown-timeout",
      "3s",
    ];
    provider = await spawnLibvirt(providerArgs);
    manager = await spawnManager(join(dir, "data"), [
      "--health-interval",
      "500ms",
      "--drift-page-interval",
      "500ms",
      // A provider that comes back is probed within 2 s, not after up to 30 s.
      "--max-probe-interval",
      "2s",
    ]);
  }, 60_000);
  afterAll(async () => {
    await manager?.stop();
    await provider?.stop();
    // Leave the shared daemon as it was: this run's domains (should a test
    // have failed before deleting them), their snapshots and disks, and its pool go.
    await removeLibvirtObjects(libvirtTestbed(), { domains: [name, cloneName], pools: [pool] });
    rmSync(poolDir, { recursive: true, force: true });
    rmSync(image, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("creates a VM through libvirtd and reports it Ready and running", async () => {
    expect(await apply("on.yaml", stack() + "---\n" + vmManifest("On"))).toContain(
      `virtualmachine/${name} created`,
    );
    const waited = await cli("wait", "vm", name, "--for", "condition=Ready", "--timeout", "60s");
    expect(waited).toMatchObject({ code: 0, stdout: `virtualmachine/${name} condition met\n` });
    const vm = await getJson("vm", name);
    expect(at(vm, "status.phase")).toBe("Running");
    expect(at(vm, "status.powerState")).toBe("On");
    expect(at(vm, "status.currentResources.cpu")).toBe(1);
    expect(await virsh("domstate", name)).toBe("running");
    expect(await vcpus(name, "--live")).toBe(1);
  }, 90_000);

  it("takes a snapshot of it with its memory, held by libvirtd", async () => {
    expect((await cli("snapshot", "create", name, "before-upgrade", "--memory")).code).toBe(0);
    const waited = await cli(
      "wait",
      "snapshot",
      "before-upgrade",
      "--for",
      "condition=Ready",
      "--timeout",
      "30s",
    );
    expect(waited.code).toBe(0);
    const id = at(await getJson("vmsnapshot", "before-upgrade"), "status.snapshotID");
    expect(typeof id).toBe("string");
    expect((await virsh("snapshot-list", name, "--name")).split("\n")).toContain(id);
  }, 60_000);

  it("reconfigures the running VM when its cpu changes", async () => {
    expect(await apply("cpu.yaml", vmManifest("On", { cpu: 2 }))).toContain(
      `virtualmachine/${name} configured`,
    );
    const vm = await eventually(
      async () => {
        const v = await getJson("vm", name);
        return at(v, "status.currentResources.cpu") === 2 &&
          condition(v, "Ready")?.["status"] === "True"
          ? v
          : undefined;
      },
      30_000,
      "cpu 2 and Ready",
    );
    expect(condition(vm, "RestartRequired")?.["status"]).not.toBe("True");
    // Live (hot-plugged, within the headroom) and in the persistent definition.
    expect(await vcpus(name, "--live")).toBe(2);
    expect(await vcpus(name, "--config")).toBe(2);
    expect(await virsh("domstate", name)).toBe("running");
    expect((await cli("describe", "vm", name)).stdout).toMatch(/Reconfiguring\s+\S+\s+1\s+cpu 1→2/);
  }, 60_000);

  it("powers it off when the manifest says Off", async () => {
    expect(await apply("off.yaml", vmManifest("Off", { cpu: 2 }))).toContain(
      `virtualmachine/${name} configured`,
    );
    await eventually(
      async () => at(await getJson("vm", name), "status.powerState") === "Off",
      30_000,
      "powerState Off",
    );
    expect(await virsh("domstate", name)).toBe("shut off");
  }, 60_000);

  it("reverts it to the snapshot: libvirtd restores the running VM with 1 vcpu", async () => {
    const before = await calls();
    // The counters count: the power-off and the cpu change above went through them.
    expect(before["Power"]).toBeGreaterThanOrEqual(1);
    expect(before["Reconfigure"]).toBeGreaterThanOrEqual(1);
    // The declared state now matches the snapshot's (On, the class's 1 cpu):
    // only the revert can bring the domain there, since the manager makes no
    // power or reconfigure call once the revert has done it.
    expect(await apply("revert.yaml", vmManifest("On", { revertTo: "before-upgrade" }))).toContain(
      `virtualmachine/${name} configured`,
    );
    const vm = await eventually(
      async () => {
        const v = await getJson("vm", name);
        return at(v, "status.revertedTo") === "before-upgrade" &&
          at(v, "status.powerState") === "On" &&
          at(v, "status.currentResources.cpu") === 1 &&
          condition(v, "Ready")?.["status"] === "True"
          ? v
          : undefined;
      },
      30_000,
      "reverted, On with 1 cpu, and Ready",
    );
    expect(at(vm, "status.phase")).toBe("Running");
    expect(await virsh("domstate", name)).toBe("running");
    expect(await vcpus(name, "--live")).toBe(1);
    expect(await vcpus(name, "--config")).toBe(1);
    expect(await virsh("snapshot-current", name, "--name")).toBe(
      at(await getJson("vmsnapshot", "before-upgrade"), "status.snapshotID"),
    );
    const after = await calls();
    expect((after["SnapshotRevert"] ?? 0) - (before["SnapshotRevert"] ?? 0)).toBe(1);
    expect(after["Power"] ?? 0).toBe(before["Power"] ?? 0);
    expect(after["Reconfigure"] ?? 0).toBe(before["Reconfigure"] ?? 0);
    expect((await cli("events", "vm", name)).stdout).toMatch(
      new RegExp(`Reverting\\s+virtualmachine/${name}\\s+reverting to VMSnapshot before-upgrade`),
    );
  }, 60_000);

  it("clones the VM: the clone is a domain of libvirtd and Ready in the manager", async () => {
    expect(
      await apply(
        "clone.yaml",
        `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClone
metadata:
  name: ${name}-clone
spec:
  source:
    vmRef:
      name: ${name}
  target:
    name: ${cloneName}
  options:
    type: FullClone
    powerOn: true
`,
      ),
    ).toContain(`vmclone/${name}-clone created`);
    const waited = await cli(
      "wait",
      "vmclone",
      `${name}-clone`,
      "--for",
      "condition=Ready",
      "--timeout",
      "60s",
    );
    expect(waited.code).toBe(0);
    const copy = await eventually(
      async () => {
        const v = await getJson("vm", cloneName);
        return condition(v, "Ready")?.["status"] === "True" ? v : undefined;
      },
      30_000,
      "the clone Ready",
    );
    expect(at(copy, "status.powerState")).toBe("On");
    expect(await virsh("domstate", cloneName)).toBe("running");
    // A full clone: its own disk in the pool, not its source's.
    const sources = await virsh("domblklist", cloneName, "--details");
    expect(sources).toContain(join(poolDir, `${cloneName}-root.qcow2`));
    expect(sources).not.toContain(`${name}-root.qcow2`);
    const client = createProviderClient(provider?.url ?? "");
    const { vms } = await client.listVMs({});
    client.close();
    expect(vms.map((v) => v.name)).toEqual(expect.arrayContaining([name, cloneName]));
  }, 90_000);

  it("opens the circuit when provider-libvirt goes down, reports it on the VM, and recovers", async () => {
    const port = new URL(provider?.url ?? "").port;
    await provider?.stop("SIGKILL");
    await eventually(
      async () =>
        condition(await getJson("vm", name), "Ready")?.["reason"] === "ProviderUnavailable",
      30_000,
      "ProviderUnavailable",
    );
    const down = await getJson("provider", "kvm");
    expect(at(down, "status.circuit")).toBe("Open");
    expect(at(down, "status.phase")).toBe("Unavailable");
    const vm = await getJson("vm", name);
    expect(condition(vm, "Ready")).toMatchObject({ status: "False" });
    expect(String(condition(vm, "Ready")?.["message"])).toContain("provider default/kvm");
    expect(
      metricValue(
        await scrape(manager as ServerProcess),
        "virtrigaud_manager_provider_circuit_open",
        {
          provider: "default/kvm",
        },
      ),
    ).toBe(1);

    // The same endpoint comes back: the Provider resource is unchanged.
    provider = await spawnLibvirt(["--listen", `127.0.0.1:${port}`, ...providerArgs]);
    for (const vmName of [name, cloneName])
      await eventually(
        async () => condition(await getJson("vm", vmName), "Ready")?.["status"] === "True",
        30_000,
        `${vmName} Ready again`,
      );
    const up = await getJson("provider", "kvm");
    expect(at(up, "status.circuit")).toBe("Closed");
    expect(at(up, "status.phase")).toBe("Ready");
    expect(
      metricValue(
        await scrape(manager as ServerProcess),
        "virtrigaud_manager_provider_circuit_open",
        {
          provider: "default/kvm",
        },
      ),
    ).toBe(0);
    const events = (await cli("events", "provider", "kvm")).stdout;
    expect(events).toMatch(/ProviderUnavailable/);
    expect(events).toMatch(/ProviderReady/);
    // The new provider process answered the manager's Describe.
    expect((await calls())["Describe"]).toBeGreaterThan(0);
  }, 90_000);

  it("deletes both VMs and sees them, their snapshots and disks gone from libvirtd", async () => {
    const deleted = await cli("delete", "vm", name, cloneName, "--wait", "--timeout", "60s");
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`virtualmachine/${name} deleted`);
    expect(deleted.stdout).toContain(`virtualmachine/${cloneName} deleted`);
    expect((await cli("get", "vm", name)).code).toBe(3);
    expect((await cli("get", "vm", cloneName)).code).toBe(3);
    const client = createProviderClient(provider?.url ?? "");
    const { vms } = await client.listVMs({});
    client.close();
    expect(vms.map((v) => v.name)).not.toContain(name);
    expect(vms.map((v) => v.name)).not.toContain(cloneName);
    for (const domain of [name, cloneName])
      await expect(virsh("domstate", domain)).rejects.toThrow(/failed to get domain|not found/i);
    await virsh("pool-refresh", pool);
    expect(await virsh("vol-list", pool)).not.toContain(name);
  }, 90_000);
});
