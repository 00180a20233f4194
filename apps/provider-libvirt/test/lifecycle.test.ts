import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  DiskType,
  ErrorReason,
  Firmware,
  IpSource,
  NetworkType,
  NicModel,
  PowerOperation,
  PowerState,
} from "@virtrigaud/contracts";
import type { TestServer } from "@virtrigaud/contracts/testing";
import { parseDomainXml } from "../src/xml/parse-domain.js";
import { removeDomains, testBridge, testbed, testbedSupervisor, virsh } from "./testbed.js";
import { blankImage, done, errorOf, testPool, useProvider } from "./use-provider.js";

const run = promisify(execFile);

let provider: Awaited<ReturnType<typeof useProvider>>;
let test: TestServer;
let image: string;

beforeAll(async () => {
  await removeDomains("life-", "bad-", "foreign-");
  provider = await useProvider();
  test = provider.test;
  image = await blankImage("lifecycle-base");
});
afterAll(async () => {
  await provider?.close();
  // No guest of this file keeps running (and taking CPU) into the next.
  await removeDomains("life-", "bad-", "foreign-");
});

async function describeVm(vmId: string) {
  const { exists, vm } = await test.client.describe({ vmId });
  expect(exists).toBe(true);
  return vm!;
}

describe("a VM's life on a real libvirtd over SSH", () => {
  let vmId = "";

  it("validates: libvirt reached over SSH, its pool made, qemu domains where KVM does not work", async () => {
    const { message } = await test.client.validate({});
    expect(message).toMatch(/QEMU .* via ssh root@127\.0\.0\.1:\d+/);
    expect(message).toContain(`pool ${testPool} at ${testbed().poolDir}`);
    expect(message).toMatch(/(kvm|qemu) domains/);
  });

  it("creates a VM with a data disk, two NICs, cloud-init and a console, and powers it on", async () => {
    const { vmId: id, task } = await test.client.create({
      name: "life-1",
      class: { cpu: 1, memoryMib: 256, firmware: Firmware.BIOS },
      image: { source: { case: "path", value: image } },
      rootDiskSizeGib: 1,
      disks: [{ name: "data", sizeGib: 1, type: DiskType.THIN }],
      networks: [
        {
          network: testbed().network,
          type: NetworkType.VIRTUAL,
          macAddress: "52:54:00:10:20:30",
          staticIp: {
            address: "10.213.7.50",
            prefixLength: 24,
            gateway: "10.213.7.1",
            dnsServers: ["10.213.7.1"],
          },
        },
        { network: testBridge(), type: NetworkType.BRIDGE, model: NicModel.E1000E },
      ],
      cloudInit: {
        userData: "#cloud-config\nruncmd:\n  - echo hello\n",
        metaData: "zone: lab\n",
      },
      tags: ["web"],
      labels: { team: "infra" },
      powerOn: true,
    });
    vmId = id;
    expect(task).toBeDefined();
    await done(test, task);

    const vm = await describeVm(vmId);
    expect(vm).toMatchObject({
      id: vmId,
      name: "life-1",
      powerState: PowerState.ON,
      tags: ["web"],
      labels: { team: "infra" },
    });
    expect(vm.consoleUrl).toMatch(/^vnc:\/\/127\.0\.0\.1:59\d\d$/);
    expect(vm.resources).toMatchObject({ cpu: 1, memoryMib: 256, firmware: Firmware.BIOS });
    expect(vm.resources?.disks.map((d) => [d.name, d.sizeGib, d.type])).toEqual([
      ["root", 1, DiskType.THIN],
      ["data", 1, DiskType.THIN],
    ]);
    expect(vm.resources?.networkInterfaces.map((n) => [n.network, n.type, n.model])).toEqual([
      [testbed().network, NetworkType.VIRTUAL, NicModel.VIRTIO],
      [testBridge(), NetworkType.BRIDGE, NicModel.E1000E],
    ]);
    expect(vm.resources?.networkInterfaces[0]?.macAddress).toBe("52:54:00:10:20:30");
    expect(vm.ipAddresses).toContainEqual(
      expect.objectContaining({
        address: "10.213.7.50",
        source: IpSource.STATIC,
        macAddress: "52:54:00:10:20:30",
      }),
    );
    expect(vm.providerFields["managed"]).toBe("created");
  });

  it("defines the domain as asked: qemu, virtio, guest agent, serial, its seed, owner metadata", async () => {
    const xml = await virsh("dumpxml", "--domain", vmId);
    const info = parseDomainXml(xml);
    expect(info.type).toBe("qemu");
    expect(info.owner).toMatchObject({
      origin: "created",
      labels: { team: "infra" },
      tags: ["web"],
      disks: { vdb: "data" },
    });
    expect(info.disks.map((d) => [d.target, d.bus, d.device])).toEqual([
      ["vda", "virtio", "disk"],
      ["vdb", "virtio", "disk"],
      ["sda", "scsi", "cdrom"],
    ]);
    // The root disk is an overlay on the image, which stays untouched.
    expect(info.disks[0]?.backing).toEqual([image]);
    expect(xml).toContain("org.qemu.guest_agent.0");
    expect(xml).toMatch(/<serial type='pty'>/);
    const seed = info.disks[2]?.path ?? "";
    const { stdout: label } = await run("isoinfo", ["-d", "-i", seed]);
    expect(label).toMatch(/Volume id: cidata/);
    const file = async (name: string) =>
      (await run("isoinfo", ["-i", seed, "-J", "-x", `/${name}`])).stdout;
    expect(await file("user-data")).toBe("#cloud-config\nruncmd:\n  - echo hello\n");
    expect(await file("meta-data")).toBe(
      `instance-id: ${vmId}\nlocal-hostname: life-1\nzone: lab\n`,
    );
    expect(await file("network-config")).toContain("10.213.7.50/24");
  });

  it("reports addresses from DHCP leases and the host's ARP table, each tagged with its source", async () => {
    // The guest has no OS to ask for a lease: the test bed's dnsmasq status file
    // and its network namespace's neighbour table get the entries a guest leaves.
    const vm = await describeVm(vmId);
    const [first, second] = vm.resources?.networkInterfaces.map((n) => n.macAddress) ?? [];
    const status = `${testbed().dir}/lib/dnsmasq/vrtgbr0.status`;
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const lease = {
      "ip-address": "10.213.7.150",
      "mac-address": first,
      hostname: "life-1",
      "expiry-time": expiry,
    };
    await writeFile(status, JSON.stringify([lease]));
    const neigh = ["-t", await testbedSupervisor(), "-n", "ip", "neigh"];
    const arp = ["10.213.7.77", "lladdr", second ?? "", "dev", testBridge(), "nud", "permanent"];
    await run("nsenter", [...neigh, "replace", ...arp]);
    // Sessions of this port run in libvirtd's namespaces, as on a real host.
    const inside = await useProvider({}, { port: testbed().namespaceSshPort });
    try {
      const expected = [
        { address: "10.213.7.150", source: IpSource.DHCP_LEASE, macAddress: first },
        { address: "10.213.7.77", source: IpSource.ARP, macAddress: second },
        { address: "10.213.7.50", source: IpSource.STATIC, macAddress: first },
      ];
      const plain = (list: readonly { address: string; source: IpSource; macAddress: string }[]) =>
        list.map(({ address, source, macAddress }) => ({ address, source, macAddress }));
      const { vm: described } = await inside.test.client.describe({ vmId });
      expect(plain(described?.ipAddresses ?? [])).toEqual(expected);
      const { vms } = await inside.test.client.listVMs({ namePrefix: "life-1" });
      expect(plain(vms[0]?.ipAddresses ?? [])).toEqual(expected);
    } finally {
      await inside.close();
      await run("nsenter", [...neigh, "del", "10.213.7.77", "dev", testBridge()]);
      await writeFile(status, "[]");
    }
  });

  it("answers a repeated Create with the same VM and no new work", async () => {
    const again = await test.client.create({ name: "life-1", class: { cpu: 4, memoryMib: 4096 } });
    expect(again.vmId).toBe(vmId);
    expect(again.task).toBeUndefined();
  });

  it("lists it with state and resources, by prefix and a page at a time", async () => {
    const { task } = await test.client.create({
      name: "life-2",
      class: { cpu: 1, memoryMib: 128 },
      disks: [{ name: "scratch", sizeGib: 1, type: DiskType.THICK }],
    });
    await done(test, task);
    const all = await test.client.listVMs({ namePrefix: "life-" });
    expect(all.vms.map((v) => v.name)).toEqual(["life-1", "life-2"]);
    expect(all.vms[0]).toMatchObject({
      powerState: PowerState.ON,
      resources: { cpu: 1, memoryMib: 256 },
    });
    // A thick disk is a preallocated raw file.
    expect(all.vms[1]?.resources?.disks.map((d) => [d.name, d.sizeGib, d.type])).toEqual([
      ["scratch", 1, DiskType.THICK],
    ]);
    const { stdout } = await run("qemu-img", [
      "info",
      "--output=json",
      `${testbed().poolDir}/life-2-disk-scratch.raw`,
    ]);
    const info = JSON.parse(stdout) as { format: string; "actual-size": number };
    expect(info.format).toBe("raw");
    expect(info["actual-size"]).toBeGreaterThanOrEqual(1024 ** 3);
    // libvirt takes no internal snapshot of a raw disk: the call says so and starts nothing.
    const snapshot = await errorOf(
      test.client.snapshotCreate({ vmId: all.vms[1]?.id ?? "", name: "s" }),
    );
    expect(snapshot.reason).toBe(ErrorReason.UNSUPPORTED);
    const first = await test.client.listVMs({ namePrefix: "life-", pageSize: 1 });
    expect(first.vms.map((v) => v.name)).toEqual(["life-1"]);
    const second = await test.client.listVMs({
      namePrefix: "life-",
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect(second.vms.map((v) => v.name)).toEqual(["life-2"]);
    expect(second.nextPageToken).toBe("");
  });

  it("suspends and resumes", async () => {
    await done(test, (await test.client.power({ vmId, operation: PowerOperation.SUSPEND })).task);
    expect((await describeVm(vmId)).powerState).toBe(PowerState.SUSPENDED);
    expect(await virsh("domstate", "--domain", vmId)).toMatch(/paused/);
    await done(test, (await test.client.power({ vmId, operation: PowerOperation.ON })).task);
    expect((await describeVm(vmId)).powerState).toBe(PowerState.ON);
  });

  it("reboots by ACPI, keeping the same QEMU process", async () => {
    const pid = (await run("cat", [`${testbed().dir}/run/qemu/life-1.pid`])).stdout.trim();
    await done(test, (await test.client.power({ vmId, operation: PowerOperation.REBOOT })).task);
    expect((await run("cat", [`${testbed().dir}/run/qemu/life-1.pid`])).stdout.trim()).toBe(pid);
    expect((await describeVm(vmId)).powerState).toBe(PowerState.ON);
  });

  it("shuts down gracefully, then powers off hard when the guest ignores ACPI past the timeout", async () => {
    const started = Date.now();
    const { task } = await test.client.power({
      vmId,
      operation: PowerOperation.SHUTDOWN,
      gracefulTimeoutSeconds: 2,
    });
    await done(test, task);
    // The guest has no OS: it ignores ACPI, so the provider waited the 2 s before pulling the plug.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const off = await describeVm(vmId);
    expect(off.powerState).toBe(PowerState.OFF);
    // Nothing holds an address while off, not even the static one configured at create.
    expect(off.ipAddresses).toEqual([]);
    const [listed] = (await test.client.listVMs({ namePrefix: "life-1" })).vms;
    expect(listed?.ipAddresses).toEqual([]);
    expect(
      (await test.client.power({ vmId, operation: PowerOperation.SHUTDOWN })).task,
    ).toBeUndefined();
  });

  it("reconfigures a VM that is off into its definition", async () => {
    const { task, powerCycleRequired } = await test.client.reconfigure({
      vmId,
      cpu: 2,
      memoryMib: 384,
      disks: [{ name: "data", sizeGib: 2 }],
    });
    await done(test, task);
    expect(powerCycleRequired).toBe(false);
    const vm = await describeVm(vmId);
    expect(vm.resources).toMatchObject({ cpu: 2, memoryMib: 384 });
    expect(vm.resources?.disks.find((d) => d.name === "data")?.sizeGib).toBe(2);
    // Headroom follows: the maximum is twice the new size.
    const info = parseDomainXml(await virsh("dumpxml", "--domain", vmId, "--inactive"));
    expect([info.maxVcpus, info.maxMemoryMib]).toEqual([4, 768]);
  });

  it("reconfigures a running VM live within its headroom, and for the next boot beyond it", async () => {
    await done(test, (await test.client.power({ vmId, operation: PowerOperation.ON })).task);
    const live = await test.client.reconfigure({
      vmId,
      memoryMib: 512,
      disks: [{ name: "data", sizeGib: 3 }],
    });
    await done(test, live.task);
    expect(live.powerCycleRequired).toBe(false);
    let vm = await describeVm(vmId);
    expect(vm.resources?.memoryMib).toBe(512);
    expect(vm.resources?.disks.find((d) => d.name === "data")?.sizeGib).toBe(3);

    const beyond = await test.client.reconfigure({ vmId, memoryMib: 2048 });
    await done(test, beyond.task);
    expect(beyond.powerCycleRequired).toBe(true);
    vm = await describeVm(vmId);
    expect(vm.resources?.memoryMib).toBe(512);
    const persistent = parseDomainXml(await virsh("dumpxml", "--domain", vmId, "--inactive"));
    expect(persistent.memoryMib).toBe(2048);
  });

  it("refuses to shrink a disk or grow one that does not exist, naming the field", async () => {
    const shrink = await errorOf(
      test.client.reconfigure({ vmId, disks: [{ name: "data", sizeGib: 1 }] }),
    );
    expect([shrink.reason, shrink.field]).toEqual([ErrorReason.INVALID_SPEC, "disks[0].size_gib"]);
    const missing = await errorOf(
      test.client.reconfigure({ vmId, disks: [{ name: "nope", sizeGib: 9 }] }),
    );
    expect([missing.reason, missing.field]).toEqual([ErrorReason.INVALID_SPEC, "disks[0].name"]);
  });

  it("takes, lists, reverts and deletes snapshots, with and without memory", async () => {
    const mem = await test.client.snapshotCreate({
      vmId,
      name: "with-memory",
      description: "a & <b>",
      includeMemory: true,
    });
    await done(test, mem.task);
    const disk = await test.client.snapshotCreate({
      vmId,
      name: "disk-only",
      includeMemory: false,
    });
    await done(test, disk.task);
    expect((await test.client.snapshotCreate({ vmId, name: "disk-only" })).task).toBeUndefined();

    const { snapshots } = await test.client.snapshotList({ vmId });
    expect(
      snapshots.map((s) => [s.id, s.includeMemory, s.parentId, s.powerState, s.description]),
    ).toEqual([
      ["with-memory", true, "", PowerState.ON, "a & <b>"],
      ["disk-only", false, "with-memory", PowerState.ON, ""],
    ]);

    await done(test, (await test.client.snapshotRevert({ vmId, snapshotId: "disk-only" })).task);
    expect((await describeVm(vmId)).powerState).toBe(PowerState.OFF);
    await done(test, (await test.client.snapshotRevert({ vmId, snapshotId: "with-memory" })).task);
    expect((await describeVm(vmId)).powerState).toBe(PowerState.ON);

    await done(test, (await test.client.snapshotDelete({ vmId, snapshotId: "disk-only" })).task);
    expect(
      (await test.client.snapshotDelete({ vmId, snapshotId: "disk-only" })).task,
    ).toBeUndefined();
    const missing = await errorOf(test.client.snapshotRevert({ vmId, snapshotId: "disk-only" }));
    expect(missing.reason).toBe(ErrorReason.NOT_FOUND);
    expect((await test.client.snapshotList({ vmId })).snapshots.map((s) => s.id)).toEqual([
      "with-memory",
    ]);
  });

  it("reverts to a memory snapshot taken after a vCPU was added live: the VM runs on with it", async () => {
    // Hot-plugged: libvirt adds it once QEMU runs, too late for the -loadvm of a revert.
    const grow = await test.client.reconfigure({ vmId, cpu: 3 });
    await done(test, grow.task);
    expect(grow.powerCycleRequired).toBe(false);
    expect((await virsh("vcpucount", "--domain", vmId, "--live", "--active")).trim()).toBe("3");
    await done(
      test,
      (await test.client.snapshotCreate({ vmId, name: "hotplugged", includeMemory: true })).task,
    );
    await done(test, (await test.client.snapshotRevert({ vmId, snapshotId: "hotplugged" })).task);
    const vm = await describeVm(vmId);
    expect([vm.powerState, vm.resources?.cpu]).toEqual([PowerState.ON, 3]);
    expect((await virsh("domstate", "--domain", vmId)).trim()).toBe("running");
    await done(test, (await test.client.snapshotDelete({ vmId, snapshotId: "hotplugged" })).task);
  });

  it("deletes a running VM that has snapshots, with its disks and seed", async () => {
    const info = parseDomainXml(await virsh("dumpxml", "--domain", vmId));
    const files = info.disks.map((d) => d.path);
    expect(files.every((f) => existsSync(f))).toBe(true);
    await done(test, (await test.client.delete({ vmId })).task);
    expect((await test.client.describe({ vmId })).exists).toBe(false);
    expect(files.filter((f) => existsSync(f))).toEqual([]);
    expect(existsSync(image)).toBe(true);
    expect((await test.client.delete({ vmId })).task).toBeUndefined();
  });
});

describe("requests the host cannot honour", () => {
  it.each([
    [
      { image: { source: { case: "template" as const, value: "no-such-template" } } },
      "image.template",
    ],
    [
      { image: { source: { case: "path" as const, value: "/nonexistent/disk.qcow2" } } },
      "image.path",
    ],
    [{ networks: [{ network: "no-such-net", type: NetworkType.VIRTUAL }] }, "networks[0].network"],
    [{ disks: [{ name: "root", sizeGib: 1 }] }, "disks[0].name"],
  ])("refuses %j with INVALID_SPEC at %s, creating nothing", async (fields, field) => {
    const error = await errorOf(
      test.client.create({ name: "bad-1", class: { cpu: 1, memoryMib: 128 }, ...fields }),
    );
    expect([error.reason, error.field]).toEqual([ErrorReason.INVALID_SPEC, field]);
    expect((await test.client.listVMs({ namePrefix: "bad-" })).vms).toEqual([]);
  });
});

describe("domains the provider did not create", () => {
  it("neither lists nor describes them, changes nothing, and takes no Create of their name", async () => {
    const xml = `<domain type='qemu'><name>foreign-1</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`;
    const file = `${testbed().dir}/foreign.xml`;
    await writeFile(file, xml);
    await virsh("define", "--file", file);
    const uuid = (await virsh("domuuid", "--domain", "foreign-1")).trim();
    try {
      // Describe agrees with ListVMs: by name or UUID, the domain is not the provider's.
      expect(await test.client.describe({ vmId: "foreign-1" })).toMatchObject({ exists: false });
      expect(await test.client.describe({ vmId: uuid })).toMatchObject({ exists: false });
      expect((await test.client.listVMs({ namePrefix: "foreign" })).vms).toEqual([]);
      const power = await errorOf(
        test.client.power({ vmId: "foreign-1", operation: PowerOperation.ON }),
      );
      expect(power.reason).toBe(ErrorReason.PERMISSION_DENIED);
      const remove = await errorOf(test.client.delete({ vmId: uuid }));
      expect(remove.reason).toBe(ErrorReason.PERMISSION_DENIED);
      // A Create of its name is no way in: it is refused, not answered with the domain.
      const taken = await errorOf(
        test.client.create({ name: "foreign-1", class: { cpu: 1, memoryMib: 64 } }),
      );
      expect(taken.reason).toBe(ErrorReason.CONFLICT);
      expect(taken.message).toContain("--adopt");
      expect(await virsh("domstate", "--domain", "foreign-1")).toMatch(/shut off/);

      // Adopted by name, it is listed and obeys.
      const adopting = await useProvider({ adopt: ["foreign-1"] });
      try {
        const { client } = adopting.test;
        const { vms } = await client.listVMs({ namePrefix: "foreign" });
        expect(vms.map((v) => [v.name, v.providerFields["managed"]])).toEqual([
          ["foreign-1", "adopted"],
        ]);
        const { vm } = await client.describe({ vmId: "foreign-1" });
        expect(vm?.providerFields["managed"]).toBe("adopted");
        await done(
          adopting.test,
          (await client.power({ vmId: "foreign-1", operation: PowerOperation.ON })).task,
        );
        expect(await virsh("domstate", "--domain", "foreign-1")).toMatch(/running/);
        await done(
          adopting.test,
          (await client.power({ vmId: "foreign-1", operation: PowerOperation.OFF })).task,
        );
      } finally {
        await adopting.close();
      }
    } finally {
      await virsh("destroy", "--domain", "foreign-1").catch(() => "");
      await virsh("undefine", "--domain", "foreign-1");
    }
  });
});
