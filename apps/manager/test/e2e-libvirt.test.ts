import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createProviderClient } from "@virtrigaud/contracts";
import { type ServerProcess, eventually, spawnLibvirt, spawnManager, vrtg } from "./processes.js";

const run = promisify(execFile);

function libvirtTestbed() {
  const get = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run tools/testbed/up.sh libvirt`);
    return value;
  };
  return {
    uri: get("VIRTRIGAUD_LIBVIRT_URI"),
    dir: get("VIRTRIGAUD_LIBVIRT_DIR"),
    sshHost: get("VIRTRIGAUD_LIBVIRT_SSH_HOST"),
    sshPort: get("VIRTRIGAUD_LIBVIRT_SSH_PORT"),
    sshUser: get("VIRTRIGAUD_LIBVIRT_SSH_USER"),
    sshKey: get("VIRTRIGAUD_LIBVIRT_SSH_KEY"),
    knownHosts: get("VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS"),
  };
}

type Json = Record<string, unknown>;

/**
 * End to end against a real libvirtd: provider-libvirt reaches the test
 * bed's daemon over sshd, and the manager and vrtg run as processes. The
 * guest boots a blank disk under TCG (it sits in the BIOS), which is all a
 * lifecycle needs.
 */
describe("manager end to end with provider-libvirt", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-e2e-libvirt-"));
  const suffix = randomBytes(3).toString("hex");
  const name = `mgr-e2e-${suffix}`;
  const pool = `vrtg-manager-e2e-${suffix}`;
  let poolDir: string;
  let image: string;
  let provider: ServerProcess | undefined;
  let manager: ServerProcess | undefined;
  const virsh = async (...args: string[]) =>
    (await run("virsh", ["-q", "-c", libvirtTestbed().uri, ...args])).stdout.trim();
  const cli = (...args: string[]) => vrtg(manager?.url ?? "", args);
  const getVm = async (): Promise<Json> => {
    const result = await cli("get", "vm", name, "-o", "json");
    if (result.code !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout) as Json;
  };
  const manifests = (powerState: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: kvm
spec:
  type: libvirt
  endpoint: ${provider?.url}
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
---
apiVersion: infra.virtrigaud.io/v1beta1
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
`;

  beforeAll(async () => {
    const bed = libvirtTestbed();
    // A pool and an image of this run's own in the test bed's directory.
    poolDir = join(bed.dir, "manager-e2e", suffix);
    mkdirSync(poolDir, { recursive: true });
    image = join(poolDir, "..", `blank-${suffix}.qcow2`);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
    provider = await spawnLibvirt([
      "--ssh-host",
      bed.sshHost,
      "--ssh-port",
      bed.sshPort,
      "--ssh-user",
      bed.sshUser,
      "--ssh-key",
      bed.sshKey,
      "--ssh-known-hosts",
      bed.knownHosts,
      "--libvirt-uri",
      bed.uri,
      "--storage-pool",
      pool,
      "--create-pool-dir",
      poolDir,
      "--domain-type",
      "qemu",
      "--shutdown-timeout",
      "3s",
    ]);
    manager = await spawnManager(join(dir, "data"), [
      "--health-interval",
      "1s",
      "--drift-page-interval",
      "500ms",
    ]);
  }, 60_000);
  afterAll(async () => {
    await manager?.stop();
    await provider?.stop();
    // Leave the shared daemon as it was: this run's domain (should a test
    // have failed before deleting it) and pool go.
    await virsh("destroy", name).catch(() => undefined);
    await virsh("undefine", name, "--remove-all-storage", "--snapshots-metadata").catch(
      () => undefined,
    );
    await virsh("pool-destroy", pool).catch(() => undefined);
    await virsh("pool-undefine", pool).catch(() => undefined);
    rmSync(poolDir, { recursive: true, force: true });
    rmSync(image, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates a VM through libvirtd and reports it Ready and running", async () => {
    writeFileSync(join(dir, "on.yaml"), manifests("On"));
    const applied = await cli("apply", "-f", join(dir, "on.yaml"));
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toContain(`virtualmachine/${name} created`);
    const waited = await cli("wait", "vm", name, "--for", "condition=Ready", "--timeout", "90s");
    expect(waited).toMatchObject({ code: 0, stdout: `virtualmachine/${name} condition met\n` });
    const vm = await getVm();
    expect((vm["status"] as Json)["phase"]).toBe("Running");
    expect((vm["status"] as Json)["powerState"]).toBe("On");
    expect(await virsh("domstate", name)).toBe("running");
  }, 120_000);

  it("powers it off when the manifest says Off", async () => {
    writeFileSync(join(dir, "off.yaml"), manifests("Off"));
    expect((await cli("apply", "-f", join(dir, "off.yaml"))).stdout).toContain(
      `virtualmachine/${name} configured`,
    );
    await eventually(
      async () => ((await getVm())["status"] as Json)["powerState"] === "Off",
      60_000,
      "powerState Off",
    );
    expect(await virsh("domstate", name)).toBe("shut off");
  }, 90_000);

  it("deletes it and sees it gone from libvirtd", async () => {
    const deleted = await cli("delete", "vm", name, "--wait", "--timeout", "60s");
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`virtualmachine/${name} deleted`);
    expect((await cli("get", "vm", name)).code).toBe(3);
    const client = createProviderClient(provider?.url ?? "");
    const { vms } = await client.listVMs({});
    client.close();
    expect(vms.map((v) => v.name)).not.toContain(name);
    await expect(virsh("domstate", name)).rejects.toThrow(/failed to get domain|not found/i);
  }, 90_000);
});
