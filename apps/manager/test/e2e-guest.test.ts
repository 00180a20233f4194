import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type GuestJump, guestJumpFromEnv, guestSsh } from "./guest-login.js";
import {
  type ServerProcess,
  eventually,
  runManager,
  spawnLibvirt,
  spawnManager,
  spawnVsphere,
  vrtg,
} from "./processes.js";
import { libvirtHostFlags, libvirtTestbed } from "@virtrigaud/testbed";

const run = promisify(execFile);

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tools/testbed/up.sh libvirt guest`);
  return value;
}

type Json = Record<string, unknown>;
type Address = { address: string; source: string; macAddress: string };

function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) current = (current as Json | undefined)?.[key];
  return current;
}
const condition = (resource: Json, type: string) =>
  (at(resource, "status.conditions") as Json[] | undefined)?.find((c) => c["type"] === type);
const addressesOf = (vm: Json) => (at(vm, "status.addresses") as Address[] | undefined) ?? [];

const minutes = (n: number) => n * 60_000;

/**
 * A real guest through the whole stack: the manager (a process) applies a
 * VirtualMachine of the project's Debian image (tools/guest-image) with
 * cloud-init from a Secret, provider-libvirt makes it on the test bed's libvirtd, QEMU (TCG)
 * boots it, and the test logs in over SSH from inside the test bed's network
 * namespace. One guest is booted and shared by every case, in order: a boot
 * under TCG takes one to three minutes on this machine.
 */
describe("a real guest through the manager, provider-libvirt and libvirtd", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-e2e-guest-"));
  const suffix = randomBytes(3).toString("hex");
  const name = `guest-${suffix}`;
  const blankName = `noaddr-${suffix}`;
  const pool = `vrtg-guest-e2e-${suffix}`;
  // An isolated network without DHCP, for the static address.
  const isolated = `vrtg-iso-${suffix}`;
  const staticAddress = "10.213.9.10";
  const marker = "/var/tmp/vrtg-marker";
  /** Written while a live migration copies the disks, after its snapshot. */
  const lateMarker = "/var/tmp/vrtg-after-snapshot";
  /** Written into the guest by the cloud-init the Secret holds; compared, never printed. */
  const secretToken = randomBytes(12).toString("hex");
  let poolDir = "";
  let blank = "";
  let jump: GuestJump;
  let guestKey = "";
  let provider: ServerProcess | undefined;
  /** A second provider on the same host with its own pool: the migration's target. */
  let targetProvider: ServerProcess | undefined;
  const movedName = `moved-${suffix}`;
  const targetPool = `vrtg-guest-moved-${suffix}`;
  let targetPoolDir = "";
  /** provider-vsphere on the vcsim test bed: the middle of the round trip. */
  let vsphereProvider: ServerProcess | undefined;
  const vcName = `vc-${suffix}`;
  const backName = `back-${suffix}`;
  let manager: ServerProcess | undefined;
  /** The guest's address on the NAT network, as the manager reports it. */
  let address = "";
  let bootId = "";

  const uri = () => env("VIRTRIGAUD_LIBVIRT_URI");
  const virsh = async (...args: string[]) =>
    (await run("virsh", ["-q", "-c", uri(), ...args])).stdout.trim();
  const cli = (...args: string[]) => vrtg(manager?.url ?? "", args);
  const getVm = async (vmName = name): Promise<Json> => {
    const result = await cli("get", "vm", vmName, "-o", "json");
    if (result.code !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout) as Json;
  };
  const apply = async (file: string, text: string) => {
    writeFileSync(join(dir, file), text);
    const applied = await cli("apply", "-f", join(dir, file));
    expect(applied.stderr).toBe("");
    return applied.stdout;
  };
  const ssh = (command: string, to = address) =>
    guestSsh(jump, { address: to, user: "vrtg", key: guestKey }, command);
  /** Waits until SSH to the guest answers and `command` succeeds there; its output. */
  const sshEventually = (command: string, timeoutMs: number, what: string, to?: string) =>
    eventually(() => ssh(command, to), timeoutMs, what);
  const migrationOf = async (migration: string): Promise<Json> => {
    const result = await cli("get", "vmmigration", migration, "-o", "json");
    if (result.code !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout) as Json;
  };
  /** Waits for a migration to reach `phases` (failing at once when it fails); the migration then. */
  const migrationIn = async (migration: string, phases: string[], timeoutMs: number) => {
    const m = await eventually(
      async () => {
        const current = await migrationOf(migration);
        const phase = String(at(current, "status.phase"));
        return phase === "Failed" || phases.includes(phase) ? current : undefined;
      },
      timeoutMs,
      `the migration ${migration} in ${phases.join(" or ")}`,
    );
    if (at(m, "status.phase") === "Failed") {
      throw new Error(`the migration ${migration} failed: ${String(at(m, "status.message"))}`);
    }
    return m;
  };
  const migrationReady = (migration: string, timeoutMs: number) =>
    migrationIn(migration, ["Ready"], timeoutMs);
  /** Logs in on the static address of a migrated guest: the marker and the address are there. */
  const expectMarkerOnStaticAddress = async (what: string) => {
    const out = await sshEventually(
      `cat ${marker}; ip -4 -o addr show dev eth1`,
      minutes(6),
      what,
      staticAddress,
    );
    const [markerText, eth1] = out.split("\n");
    expect(markerText).toBe("before");
    expect(eth1).toContain(`inet ${staticAddress}/24`);
  };
  const checksumsOf = (m: Json) =>
    (at(m, "status.disks") as Json[]).map((d) => [
      d["name"],
      d["sourceChecksum"],
      d["targetChecksum"],
    ]);
  const qemuLog = (domain: string) =>
    readFileSync(join(env("VIRTRIGAUD_LIBVIRT_DIR"), "log", "qemu", `${domain}.log`), "utf8");

  const stack = () => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: kvm
spec:
  type: libvirt
  endpoint: ${provider?.url}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: kvm-moved
spec:
  type: libvirt
  endpoint: ${targetProvider?.url}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: vc
spec:
  type: vsphere
  endpoint: ${vsphereProvider?.url}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: vc-small
spec:
  cpu: 1
  memory: 512Mi
  firmware: BIOS
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata:
  name: vc-net
spec:
  network:
    vsphere:
      portgroup: VM Network
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: guest
spec:
  cpu: 1
  memory: 512Mi
  firmware: BIOS
  addressPolicy:
    requiredForReady: true
    timeout: 15m
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: no-os
spec:
  cpu: 1
  memory: 128Mi
  addressPolicy:
    requiredForReady: true
    timeout: 20s
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: debian
spec:
  source:
    libvirt:
      path: ${env("VIRTRIGAUD_GUEST_IMAGE")}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: blank
spec:
  source:
    libvirt:
      path: ${blank}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata:
  name: nat
spec:
  network:
    libvirt:
      networkName: ${env("VIRTRIGAUD_LIBVIRT_NETWORK")}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata:
  name: isolated
spec:
  network:
    libvirt:
      networkName: ${isolated}
`;
  const userData = () =>
    [
      "#cloud-config",
      "users:",
      "  - name: vrtg",
      "    shell: /bin/bash",
      "    sudo: ALL=(ALL) NOPASSWD:ALL",
      "    ssh_authorized_keys:",
      `      - ${readFileSync(`${guestKey}.pub`, "utf8").trim()}`,
      "runcmd:",
      "  - [sh, -c, 'echo written by runcmd > /var/tmp/runcmd-proof']",
      `  - [sh, -c, 'echo ${secretToken} > /var/tmp/secret-proof']`,
      "",
    ].join("\n");
  /** The Secret the VM's user data comes from (stringData: folded into data, stored encrypted). */
  const secretManifest = () => `apiVersion: infra.virtrigaud.io/v1beta1
kind: Secret
metadata:
  name: ${name}-boot
stringData:
  userdata: ${JSON.stringify(userData())}
`;
  const vmManifest = (
    options: {
      cpu?: number;
      memoryMiB?: number;
      dataGiB?: number;
      revertTo?: string;
      reboot?: string;
    } = {},
  ) => {
    const resources = [
      options.cpu ? `    cpu: ${options.cpu}` : "",
      options.memoryMiB ? `    memoryMiB: ${options.memoryMiB}` : "",
    ].filter(Boolean);
    return `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ${name}
${options.reboot ? `  annotations:\n    virtrigaud.io/reboot: "${options.reboot}"\n` : ""}spec:
  providerRef:
    name: kvm
  classRef:
    name: guest
  imageRef:
    name: debian
  networks:
    - name: nat
    - name: isolated
      ipAddress: ${staticAddress}
      prefix: 24
  disks:
    - name: data
      sizeGiB: ${options.dataGiB ?? 1}
  userData:
    cloudInit:
      secretRef:
        name: ${name}-boot
  metaData:
    cloudInit:
      inline: "zone: e2e-lab\\n"
  powerState: On
  lifecycle:
    gracefulShutdownTimeout: 180s
${resources.length ? `  resources:\n${resources.join("\n")}\n` : ""}${options.revertTo ? `  snapshot:\n    revertToRef:\n      name: ${options.revertTo}\n` : ""}`;
  };
  const blankManifest = `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ${blankName}
spec:
  providerRef:
    name: kvm
  classRef:
    name: no-os
  imageRef:
    name: blank
  networks:
    - name: nat
`;

  /** The address status reports on the guest's NAT NIC (the MAC libvirt gave its first NIC). */
  const natAddress = async (vm: Json): Promise<Address | undefined> => {
    const mac = (await virsh("domiflist", name)).split("\n")[0]?.trim().split(/\s+/)[4];
    return addressesOf(vm).find((a) => a.macAddress === mac && a.address.startsWith("10.213.7."));
  };

  beforeAll(async () => {
    const bedDir = env("VIRTRIGAUD_LIBVIRT_DIR");
    jump = guestJumpFromEnv();
    poolDir = join(bedDir, "guest-e2e", suffix);
    mkdirSync(poolDir, { recursive: true });
    blank = join(poolDir, "..", `blank-${suffix}.qcow2`);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", blank, "64M"]);
    guestKey = join(dir, "guest_key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", guestKey, "-C", "vrtg-e2e"]);
    // An isolated network without DHCP: eth1's address comes from network-config only.
    const netXml = join(dir, "isolated.xml");
    writeFileSync(
      netXml,
      `<network><name>${isolated}</name><bridge name='vrtgi${suffix}' stp='off'/><ip address='10.213.9.1' netmask='255.255.255.0'/></network>`,
    );
    await virsh("net-define", netXml);
    await virsh("net-start", isolated);
    const hostFlags = [...libvirtHostFlags(libvirtTestbed()), "--domain-type", "qemu"];
    // Both serve transfers: the migration between them is read by the target from the source.
    const transfers = ["--transfer-listen", "127.0.0.1:0"];
    provider = await spawnLibvirt([
      ...hostFlags,
      ...transfers,
      "--storage-pool",
      pool,
      "--create-pool-dir",
      poolDir,
    ]);
    targetPoolDir = join(bedDir, "guest-e2e", `moved-${suffix}`);
    mkdirSync(targetPoolDir, { recursive: true });
    targetProvider = await spawnLibvirt([
      ...hostFlags,
      ...transfers,
      "--storage-pool",
      targetPool,
      "--create-pool-dir",
      targetPoolDir,
    ]);
    vsphereProvider = await spawnVsphere(
      [
        "--vcenter-url",
        env("VIRTRIGAUD_VCSIM_URL"),
        "--vcenter-ca",
        env("VIRTRIGAUD_VCSIM_CA_FILE"),
        "--cluster",
        "DC0_C0",
        "--disk-staging-dir",
        join(dir, "vsphere-staging"),
      ],
      {
        VSPHERE_USERNAME: env("VIRTRIGAUD_VCSIM_USERNAME"),
        VSPHERE_PASSWORD: env("VIRTRIGAUD_VCSIM_PASSWORD"),
      },
    );
    const keyFile = join(dir, "secret-keys.yaml");
    expect((await runManager(["secret-key", "generate", keyFile])).code).toBe(0);
    manager = await spawnManager(join(dir, "data"), [
      "--health-interval",
      "1s",
      "--drift-page-interval",
      "1s",
      "--secret-key-file",
      keyFile,
      "--migration-staging-dir",
      join(dir, "staging"),
    ]);
  }, 60_000);

  afterAll(async () => {
    await manager?.stop();
    await provider?.stop();
    await targetProvider?.stop();
    await vsphereProvider?.stop();
    for (const domain of [name, blankName, movedName, backName]) {
      await virsh("destroy", domain).catch(() => undefined);
      await virsh("undefine", domain, "--remove-all-storage", "--snapshots-metadata").catch(
        () => undefined,
      );
    }
    await virsh("net-destroy", isolated).catch(() => undefined);
    await virsh("net-undefine", isolated).catch(() => undefined);
    for (const p of [pool, targetPool]) {
      await virsh("pool-destroy", p).catch(() => undefined);
      await virsh("pool-undefine", p).catch(() => undefined);
    }
    rmSync(poolDir, { recursive: true, force: true });
    rmSync(targetPoolDir, { recursive: true, force: true });
    rmSync(blank, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("holds Ready for a VM whose guest never reports an address, then names the sources tried", async () => {
    // Both VMs are applied now: the guest boots (minutes) while the blank one times out (20 s).
    const applied = await apply(
      "stack.yaml",
      `${stack()}---\n${secretManifest()}---\n${vmManifest()}---\n${blankManifest}`,
    );
    expect(applied).toContain(`secret/${name}-boot created`);
    expect(applied).toContain(`virtualmachine/${name} created`);
    expect(applied).toContain(`virtualmachine/${blankName} created`);
    // Running, but not Ready: it waits for an address, and says until when.
    const waiting = await eventually(
      async () => {
        const vm = await getVm(blankName);
        return condition(vm, "Ready")?.["reason"] === "WaitingForAddress" ? vm : undefined;
      },
      60_000,
      "the blank VM waiting for an address",
    );
    expect(at(waiting, "status.powerState")).toBe("On");
    expect(condition(waiting, "AddressAssigned")).toMatchObject({
      status: "Unknown",
      reason: "WaitingForAddress",
    });
    expect(at(waiting, "status.addressWait")).toMatchObject({
      requiredForReady: true,
      timeout: "20s",
      sources: ["GuestAgent", "DHCPLease", "ARP"],
      policyFrom: "VMClass",
    });
    // The timeout passes: a clear condition, not an endless wait.
    const timedOut = await eventually(
      async () => {
        const vm = await getVm(blankName);
        return condition(vm, "Ready")?.["reason"] === "AddressTimeout" ? vm : undefined;
      },
      60_000,
      "the blank VM's AddressTimeout",
    );
    expect(condition(timedOut, "Ready")).toMatchObject({ status: "False" });
    expect(String(condition(timedOut, "Ready")?.["message"])).toContain(
      "no address from GuestAgent, DHCPLease or ARP within 20s",
    );
    expect(condition(timedOut, "AddressAssigned")).toMatchObject({
      status: "False",
      reason: "AddressTimeout",
    });
    expect(at(timedOut, "status.phase")).toBe("Running");
    expect(addressesOf(timedOut)).toEqual([]);
    // Gone, so it takes no CPU from the guest's boot.
    expect((await cli("delete", "vm", blankName, "--wait", "--timeout", "60s")).code).toBe(0);
  }, 150_000);

  it(
    "boots the image: Ready once an address is reported, first from the DHCP lease, then from the guest agent",
    async () => {
      // Every state the manager reported on the way, to see which source came first.
      const seen: string[] = [];
      const vm = await eventually(
        async () => {
          const v = await getVm();
          const nat = await natAddress(v);
          if (nat && seen.at(-1) !== nat.source) seen.push(nat.source);
          return condition(v, "Ready")?.["status"] === "True" && nat?.source === "GuestAgent"
            ? v
            : undefined;
        },
        minutes(12),
        "the guest Ready with its address from the guest agent",
      );
      // Ready came with the address: the class's policy requires one.
      expect(condition(vm, "AddressAssigned")).toMatchObject({
        status: "True",
        reason: "AddressReported",
      });
      // The lease is known first; the agent, once it answers inside the guest, takes over.
      expect(seen).toEqual(["DHCPLease", "GuestAgent"]);
      const nat = await natAddress(vm);
      address = nat?.address ?? "";
      expect(address).toMatch(/^10\.213\.7\.\d+$/);
      expect(at(vm, "status.ips")).toContain(address);
      // vrtg shows each address with its source.
      const wide = await cli("get", "vm", name, "-o", "wide");
      expect(wide.stdout).toContain(`${address}(GuestAgent)`);
    },
    minutes(13),
  );

  it(
    "logs in over SSH as the cloud-init user: runcmd's file, the Secret's token, the VM's name as hostname, the meta-data",
    async () => {
      const out = await sshEventually(
        // runcmd runs in cloud-init's last stage, which goes on beside the first logins.
        "cloud-init status --wait >/dev/null; hostname; cat /var/tmp/runcmd-proof; sudo cloud-init query ds.meta_data.zone; cat /proc/sys/kernel/random/boot_id",
        minutes(4),
        "an SSH login to the guest",
      );
      const [hostname, proof, zone, boot] = out.split("\n");
      expect(hostname).toBe(name);
      expect(proof).toBe("written by runcmd");
      // The Secret's content is inside the VM; and not in its status or events.
      const secretProof = await ssh("cat /var/tmp/secret-proof");
      expect(secretProof === secretToken).toBe(true);
      const shown = JSON.stringify(await getVm()) + (await cli("events")).stdout;
      expect(shown.includes(secretToken)).toBe(false);
      expect(zone).toBe("e2e-lab");
      bootId = boot ?? "";
      expect(bootId).toMatch(/^[0-9a-f-]{36}$/);
    },
    minutes(5),
  );

  it(
    "puts the VMNetworkAttachment's static address on eth1 through network-config, and reports it",
    async () => {
      expect(await ssh("ip -4 -o addr show dev eth1")).toContain(`inet ${staticAddress}/24`);
      // It is real: the guest answers SSH on it, across the network that has no DHCP.
      expect(await ssh("hostname", staticAddress)).toBe(name);
      const vm = await eventually(
        async () => {
          const v = await getVm();
          return addressesOf(v).some((a) => a.address === staticAddress) ? v : undefined;
        },
        30_000,
        "the static address in status",
      );
      const reported = addressesOf(vm).find((a) => a.address === staticAddress);
      expect(["GuestAgent", "Static"]).toContain(reported?.source);
      const macs = (await virsh("domiflist", name))
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[4]);
      expect(reported?.macAddress).toBe(macs[1]);
    },
    minutes(2),
  );

  it(
    "grows CPU, memory and a data disk of the running guest, which sees them without a reboot",
    async () => {
      const before = await ssh(
        "nproc; awk '/MemTotal/ {print $2}' /proc/meminfo; cat /sys/block/vdb/size",
      );
      const [cpus, memKiB, sectors] = before.split("\n").map(Number);
      expect(cpus).toBe(1);
      expect(sectors).toBe(1024 ** 3 / 512);
      await apply("grow.yaml", vmManifest({ cpu: 2, memoryMiB: 768, dataGiB: 2 }));
      await eventually(
        async () => {
          const v = await getVm();
          return (
            at(v, "status.currentResources.cpu") === 2 &&
            at(v, "status.currentResources.memoryMiB") === 768 &&
            (at(v, "status.disks") as Json[] | undefined)?.some(
              (d) => d["name"] === "data" && d["sizeGiB"] === 2,
            ) &&
            condition(v, "Ready")?.["status"] === "True"
          );
        },
        minutes(2),
        "cpu 2, 768 MiB and a 2 GiB data disk in status",
      );
      const after = await sshEventually(
        "test $(nproc) = 2 && awk '/MemTotal/ {print $2}' /proc/meminfo && cat /sys/block/vdb/size && cat /proc/sys/kernel/random/boot_id",
        minutes(2),
        "the guest seeing 2 CPUs online",
      );
      const [memAfter, sectorsAfter, boot] = after.split("\n");
      // The balloon gave back 256 MiB (a little goes to the kernel's own accounting).
      expect(Number(memAfter) - (memKiB ?? 0)).toBeGreaterThan(200 * 1024);
      expect(Number(sectorsAfter)).toBe((2 * 1024 ** 3) / 512);
      expect(boot).toBe(bootId);
    },
    minutes(5),
  );

  it(
    "reverts to a memory snapshot: a changed file has its old content and the guest did not reboot",
    async () => {
      await ssh(`echo before > ${marker} && sync`);
      expect((await cli("snapshot", "create", name, "with-memory", "--memory")).code).toBe(0);
      const waited = await cli(
        "wait",
        "snapshot",
        "with-memory",
        "--for",
        "condition=Ready",
        "--timeout",
        "180s",
      );
      expect(waited.code).toBe(0);
      await ssh(`echo after > ${marker} && sync`);
      expect(await ssh(`cat ${marker}`)).toBe("after");
      await apply(
        "revert.yaml",
        vmManifest({ cpu: 2, memoryMiB: 768, dataGiB: 2, revertTo: "with-memory" }),
      );
      await eventually(
        async () => {
          const v = await getVm();
          return (
            at(v, "status.revertedTo") === "with-memory" &&
            !at(v, "status.lastTaskRef") &&
            condition(v, "Ready")?.["status"] === "True"
          );
        },
        minutes(3),
        "reverted and Ready",
      );
      const out = await sshEventually(
        `cat ${marker}; cat /proc/sys/kernel/random/boot_id`,
        minutes(2),
        "SSH after the revert",
      );
      expect(out.split("\n")).toEqual(["before", bootId]);
    },
    minutes(7),
  );

  it(
    "reboots when virtrigaud.io/reboot gets a new value: a new boot id, and the address comes back",
    async () => {
      await apply("reboot.yaml", vmManifest({ cpu: 2, memoryMiB: 768, dataGiB: 2, reboot: "1" }));
      await eventually(
        async () => at(await getVm(), "status.rebootRequest") === "1",
        60_000,
        "the reboot request taken",
      );
      expect((await cli("events", "vm", name)).stdout).toMatch(/Rebooting\s+virtualmachine\//);
      const boot = await eventually(
        async () => {
          const id = await ssh("cat /proc/sys/kernel/random/boot_id");
          return id !== bootId ? id : undefined;
        },
        minutes(6),
        "a new boot id",
      );
      bootId = boot;
      // The guest agent is back and reports the same address.
      const vm = await eventually(
        async () => {
          const v = await getVm();
          return (await natAddress(v))?.source === "GuestAgent" ? v : undefined;
        },
        minutes(3),
        "the address from the guest agent after the reboot",
      );
      expect((await natAddress(vm))?.address).toBe(address);
      expect(await ssh("nproc")).toBe("2");
    },
    minutes(10),
  );

  it(
    "keeps the address from the DHCP lease when the guest agent stops, without Ready flipping",
    async () => {
      const readySince = condition(await getVm(), "Ready")?.["lastTransitionTime"];
      await ssh("sudo systemctl stop qemu-guest-agent");
      await eventually(
        async () => (await natAddress(await getVm()))?.source === "DHCPLease",
        60_000,
        "the address tagged DHCPLease",
      );
      // A window of samples: still Ready, never flipped, the address always there.
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        const vm = await getVm();
        expect(condition(vm, "Ready")).toMatchObject({
          status: "True",
          lastTransitionTime: readySince,
        });
        expect(await natAddress(vm)).toMatchObject({ address, source: "DHCPLease" });
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    minutes(2),
  );

  it(
    "migrates the VM live to another pool through a VMMigration: read by the target from the source while it runs, then a final sync at cutover; it boots there with its static address, its marker, what it wrote after the snapshot and the same disks, and the source goes only once the target is verified",
    async () => {
      const sourceDisks = (await virsh("domblklist", name, "--details"))
        .split("\n")
        .filter((l) => l.includes(" disk "))
        .map((l) => l.trim().split(/\s+/).at(-1) ?? "");
      expect(sourceDisks.length).toBe(2);
      // A running guest is migrated live; its agent, stopped by the test before, runs again.
      await ssh("sudo systemctl start qemu-guest-agent");
      await apply(
        "migration.yaml",
        `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata:
  name: ${name}-move
spec:
  source:
    vmRef: {name: ${name}}
    deleteAfterMigration: true
  target:
    name: ${movedName}
    providerRef: {name: kvm-moved}
    preserveMACAddresses: true
    powerOn: true
  options:
    diskFormat: raw
`,
      );
      // While the disks exported at the snapshot travel, the source still runs, and writes.
      const moving = await migrationIn(`${name}-move`, ["Transferring"], minutes(10));
      expect(at(moving, "status.transferFormat")).toBe("raw");
      expect(at(moving, "status.finalSync")).toBe(true);
      expect(condition(moving, "Ready")?.["reason"]).toBe("Transferring");
      expect((await cli("get", "vm", name)).code).toBe(0);
      await ssh(`echo written-after-the-snapshot > ${lateMarker} && sync`);
      const done = await migrationReady(`${name}-move`, minutes(15));
      const disks = at(done, "status.disks") as Json[];
      expect(disks.map((d) => d["name"])).toEqual(["root", "data"]);
      for (const d of disks) {
        expect(d["sourceChecksum"]).toMatch(/^[0-9a-f]{64}$/);
        expect(d["targetChecksum"]).toBe(d["sourceChecksum"]);
      }
      expect(at(done, "status.validationResults.checksumMatch")).toBe(true);
      // The target runs on the other pool's disks, and answers on the source's static address.
      const moved = await getVm(movedName);
      expect(condition(moved, "Ready")?.["status"]).toBe("True");
      const targetDisks = await virsh("domblklist", movedName, "--details");
      expect(targetDisks).toContain(targetPoolDir);
      await expectMarkerOnStaticAddress("an SSH login to the migrated guest on its static address");
      // The final sync carried what the guest wrote after the snapshot, and only a little.
      expect(await ssh(`cat ${lateMarker}`, staticAddress)).toBe("written-after-the-snapshot");
      for (const d of disks) {
        expect(d["synced"]).toBe(true);
        expect(Number(d["syncBytes"] ?? 0) * 10).toBeLessThan(Number(d["sizeBytes"]));
      }
      const events = await cli("describe", "vmmigration", `${name}-move`);
      // The copy at the snapshot went provider to provider, the final sync through the manager.
      expect(events.stdout).toMatch(
        /disk (root|data): \d+ bytes, read by the target from the source/,
      );
      expect(events.stdout).toMatch(/FinalSync/);
      expect(events.stdout).toMatch(/the final sync moved \d+ bytes/);
      // Asked for: the source VM and its disks are gone now, and only now.
      await eventually(
        async () => (await cli("get", "vm", name)).code !== 0,
        minutes(2),
        "the source VM deleted",
      );
      await expect(virsh("domstate", name)).rejects.toThrow(/failed to get domain|not found/i);
      await virsh("pool-refresh", pool);
      expect(await virsh("vol-list", pool)).not.toContain(name);
    },
    minutes(25),
  );

  /** The disks' SHA-256 as the libvirt export gave them on the way to vSphere. */
  let toVsphere: unknown[][] = [];

  it(
    "migrates it on to vSphere (vcsim): the disks are stored on the datastore as raw flat VMDKs, and the VM is registered with the class and networks asked for",
    async () => {
      const macsOnLibvirt = (await virsh("domiflist", movedName))
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[4]);
      expect(macsOnLibvirt).toHaveLength(2);
      await apply(
        "to-vsphere.yaml",
        `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata:
  name: ${name}-to-vc
spec:
  source:
    vmRef: {name: ${movedName}}
    deleteAfterMigration: true
  target:
    name: ${vcName}
    providerRef: {name: vc}
    classRef: {name: vc-small}
    networks:
      - name: vc-net
      - name: vc-net
    preserveMACAddresses: true
`,
      );
      const done = await migrationReady(`${name}-to-vc`, minutes(15));
      expect(at(done, "status.transferFormat")).toBe("raw");
      toVsphere = checksumsOf(done);
      expect(toVsphere.map((d) => d[0])).toEqual(["root", "data"]);
      for (const [, source, target] of toVsphere) {
        expect(source).toMatch(/^[0-9a-f]{64}$/);
        expect(target).toBe(source);
      }
      const vm = await getVm(vcName);
      expect(condition(vm, "Ready")?.["status"]).toBe("True");
      expect(at(vm, "spec.classRef.name")).toBe("vc-small");
      // The VM's own resources (grown to 2 CPUs and 768 MiB above) go with it, over the class's.
      expect(at(vm, "status.currentResources.cpu")).toBe(2);
      expect(at(vm, "status.currentResources.memoryMiB")).toBe(768);
      // Both NICs on the vSphere port group, each with the MAC it had on libvirt, though
      // the source was shut down (and reported no addresses) when the target was declared.
      const nics = at(vm, "spec.networks") as Json[];
      expect(nics.map((n) => n["name"])).toEqual(["vc-net", "vc-net"]);
      expect(nics.map((n) => String(n["macAddress"]).toLowerCase())).toEqual(macsOnLibvirt);
      expect(at(done, "status.sourceMACAddresses")).toEqual(macsOnLibvirt);
      await eventually(
        async () => (await cli("get", "vm", movedName)).code !== 0,
        minutes(2),
        "the libvirt source deleted",
      );
    },
    minutes(20),
  );

  it(
    "migrates it back from vSphere to libvirt, staged in the manager's staging directory: the bytes read back from the datastore are the ones sent, and the guest boots and answers SSH on its static address with the marker",
    async () => {
      await apply(
        "from-vsphere.yaml",
        `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata:
  name: ${name}-back
spec:
  source:
    vmRef: {name: ${vcName}}
    deleteAfterMigration: true
  target:
    name: ${backName}
    providerRef: {name: kvm-moved}
    classRef: {name: guest}
    networks:
      - name: nat
      - name: isolated
        ipAddress: ${staticAddress}
        prefix: 24
    preserveMACAddresses: true
    powerOn: true
  storage:
    type: directory
`,
      );
      const done = await migrationReady(`${name}-back`, minutes(20));
      // The vSphere export hashed the flat files as the datastore serves them: the same bytes.
      expect(checksumsOf(done)).toEqual(toVsphere);
      // Staged whole first (the source then released), copied out, and the staged files removed.
      expect((at(done, "status.disks") as Json[]).map((d) => d["staged"])).toEqual([true, true]);
      expect(at(done, "status.sourceReleased")).toBe(true);
      expect(at(done, "status.storageInfo.cleanedUp")).toBe(true);
      expect(readdirSync(join(dir, "staging"))).toEqual([]);
      await expectMarkerOnStaticAddress("an SSH login to the guest back on libvirt");
      await eventually(
        async () => (await cli("get", "vm", vcName)).code !== 0,
        minutes(2),
        "the vSphere source deleted",
      );
    },
    minutes(25),
  );

  it(
    "shuts down on OffGraceful: the guest powers itself off (never destroyed) and the VM reports Off",
    async () => {
      // The spec the migration gave the VM, as stored, with only the power state (and the time
      // the guest is given, under TCG on a busy machine) changed.
      const stored = await getVm(backName);
      const spec: Json = { ...(stored["spec"] as Json), powerState: "OffGraceful" };
      spec["lifecycle"] = {
        ...(spec["lifecycle"] as Json | undefined),
        gracefulShutdownTimeout: "180s",
      };
      const { name: vmName, namespace, labels, annotations } = at(stored, "metadata") as Json;
      const logsBefore = targetProvider?.logs.length ?? 0;
      await apply(
        "off.json",
        JSON.stringify({
          apiVersion: stored["apiVersion"],
          kind: stored["kind"],
          metadata: { name: vmName, namespace, labels, annotations },
          spec,
        }),
      );
      const vm = await eventually(
        async () => {
          const v = await getVm(backName);
          return at(v, "status.powerState") === "Off" ? v : undefined;
        },
        minutes(4),
        "the VM Off",
      );
      expect(await virsh("domstate", backName)).toBe("shut off");
      // libvirt's log of this domain's last run: QEMU ended because the guest shut down.
      const lastRun = qemuLog(backName).split("starting up").at(-1) ?? "";
      expect(lastRun).toContain("shutting down, reason=shutdown");
      expect(lastRun).not.toContain("reason=destroyed");
      // The provider never fell back to pulling the plug.
      const logs = targetProvider?.logs.slice(logsBefore) ?? [];
      expect(logs.some((l) => String(l["msg"]).includes("powering off"))).toBe(false);
      expect(addressesOf(vm)).toEqual([]);
      expect(condition(vm, "AddressAssigned")).toBeUndefined();
      expect(condition(vm, "Ready")).toMatchObject({ status: "True" });
    },
    minutes(5),
  );

  it(
    "deletes the migrated VM, its disks and seed",
    async () => {
      const deleted = await cli("delete", "vm", backName, "--wait", "--timeout", "120s");
      expect(deleted.code).toBe(0);
      await expect(virsh("domstate", backName)).rejects.toThrow(/failed to get domain|not found/i);
      await virsh("pool-refresh", targetPool);
      // Volume names only: the pool's directory itself is named after the VM.
      const volumes = (await virsh("vol-list", targetPool))
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[0]);
      expect(volumes.filter((v) => v?.includes(backName))).toEqual([]);
    },
    minutes(3),
  );
});
