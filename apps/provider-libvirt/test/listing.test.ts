import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  DiskType,
  Firmware,
  IpSource,
  NetworkType,
  NicModel,
  PowerState,
  createTaskTracker,
} from "@virtrigaud/contracts";
import { createLibvirtHost } from "../src/host/libvirt-host.js";
import { createSshTransport } from "../src/host/ssh-transport.js";
import { type LibvirtContext, createLibvirtContext } from "../src/libvirt-context.js";
import { listVms } from "../src/list-vms.js";
import { buildDomainXml } from "../src/xml/domain-xml.js";
import type { DomainSpec, OwnerRecord } from "../src/xml/domain-spec.js";
import { removeDomains, testBridge, testbed, testbedSupervisor, virsh } from "./testbed.js";
import { sshOptions } from "./use-provider.js";

const run = promisify(execFile);
const prefix = "lst-";
const dir = () => `${testbed().dir}/listing`;
const owner = (extra: Partial<OwnerRecord> = {}): OwnerRecord => ({
  origin: "created",
  createdAt: 1_700_000_000_000,
  disks: { vdb: "data" },
  labels: { team: "infra", odd: `<b> & "q" 'a' ]]>\nline` },
  tags: ["prod", "ünïcødé"],
  image: "debian-12",
  linkedTo: "",
  memoryMib: 96,
  staticAddresses: {},
  ...extra,
});

/** A domain of the test: its own disks, NICs on the test network and bridge. */
async function define(
  name: string,
  index: number,
  spec: Partial<DomainSpec>,
  how: { start: boolean; foreign?: boolean },
) {
  const root = `${dir()}/${name}-root.qcow2`;
  const data = `${dir()}/${name}-data.raw`;
  await run("qemu-img", ["create", "-q", "-f", "qcow2", root, "1G"]);
  await run("qemu-img", ["create", "-q", "-f", "raw", data, "2G"]);
  const mac = (n: number) => `52:54:00:1c:${index.toString(16).padStart(2, "0")}:0${n}`;
  let xml = buildDomainXml({
    uuid: randomUUID(),
    name,
    type: "qemu",
    vcpus: 1,
    maxVcpus: 2,
    memoryMib: 96,
    maxMemoryMib: 128,
    firmware: "bios",
    disks: [
      { name: "root", path: root, format: "qcow2", device: "disk", target: "vda", bus: "virtio" },
      { name: "data", path: data, format: "raw", device: "disk", target: "vdb", bus: "virtio" },
    ],
    nics: [
      { kind: "network", source: testbed().network, model: "virtio", mac: mac(1) },
      { kind: "bridge", source: testBridge(), model: "e1000e", mac: mac(2) },
    ],
    vncListen: "127.0.0.1",
    owner: owner(),
    ...spec,
  });
  // A domain made elsewhere carries none of the provider's metadata.
  if (how.foreign) xml = xml.replace(/<metadata>[\s\S]*<\/metadata>/, "");
  const file = `${dir()}/${name}.xml`;
  await writeFile(file, xml);
  await virsh("define", "--file", file);
  if (how.start) await virsh("start", "--domain", name);
  return { first: mac(1), second: mac(2) };
}

let ctx: LibvirtContext;
let close: () => Promise<void>;
/** The domains each `virsh dumpxml` batch of the listings read, in order. */
const dumped: number[] = [];
const neigh = async () => ["-t", await testbedSupervisor(), "-n", "ip", "neigh"];
const leases = () => `${testbed().dir}/lib/dnsmasq/vrtgbr0.status`;

beforeAll(async () => {
  await removeDomains(prefix, "lzt-");
  await rm(dir(), { recursive: true, force: true });
  await mkdir(dir(), { recursive: true });
  const a = await define(
    "lst-a",
    1,
    { owner: owner({ staticAddresses: { [`52:54:00:1c:01:01`]: "10.213.7.51" } }) },
    { start: true },
  );
  await define(
    "lst-b",
    2,
    { owner: owner({ origin: "adopted", linkedTo: randomUUID() }) },
    { start: false },
  );
  await define("lst-c", 3, {}, { start: true, foreign: true }); // adopted by the option
  await define("lst-d", 4, {}, { start: false, foreign: true }); // unmanaged
  await define(
    "lst-e",
    5,
    { vncListen: "0.0.0.0", owner: owner({ tags: [], labels: {} }) },
    { start: true },
  );
  await define("lzt-f", 6, {}, { start: false }); // another prefix
  // No guest has an OS: a lease in dnsmasq's status file and a neighbour entry stand in for it.
  await writeFile(
    leases(),
    JSON.stringify([
      {
        "ip-address": "10.213.7.151",
        "mac-address": a.first,
        hostname: "lst-a",
        "expiry-time": Math.floor(Date.now() / 1000) + 3600,
      },
    ]),
  );
  await run("nsenter", [
    ...(await neigh()),
    "replace",
    "10.213.7.78",
    "lladdr",
    a.second,
    "dev",
    testBridge(),
    "nud",
    "permanent",
  ]);
  // Sessions of this port run in libvirtd's namespaces, where its ARP table is.
  const host = createLibvirtHost({
    uri: testbed().uri,
    transport: createSshTransport(sshOptions({ port: testbed().namespaceSshPort })),
  });
  const tasks = createTaskTracker({ idPrefix: "listing" });
  // Counts the definitions listings read (their dumpxml batches go through exec).
  const counting = new Proxy(host, {
    get(target, key, receiver) {
      if (key !== "exec") return Reflect.get(target, key, receiver) as unknown;
      return (argv: readonly string[], call?: Parameters<typeof host.exec>[1]) => {
        const batch = argv.at(-1) ?? "";
        if (argv[0] === "virsh" && batch.includes("dumpxml")) {
          dumped.push(batch.split("dumpxml").length - 1);
        }
        return target.exec(argv, call);
      };
    },
  });
  ctx = createLibvirtContext(
    { host: counting, adopt: ["lst-c"], consoleHost: "console.example" },
    tasks,
  );
  close = async () => {
    await tasks.close();
    ctx.inventory.close();
    await host.close();
  };
}, 120_000);

afterAll(async () => {
  await close?.();
  await run("nsenter", [...(await neigh()), "del", "10.213.7.78", "dev", testBridge()]).catch(
    () => undefined,
  );
  await writeFile(leases(), "[]");
  await removeDomains(prefix, "lzt-");
  await rm(dir(), { recursive: true, force: true });
});

describe("ListVMs on the real daemon", () => {
  const signal = new AbortController().signal;

  const ask = (namePrefix: string, pageSize = 0, pageToken = "") =>
    ({ namePrefix, pageSize, pageToken }) as never;

  it("lists by prefix and a page at a time, by name, the unmanaged and other prefixes left out", async () => {
    const names = async (request: never) => {
      const { vms = [], nextPageToken = "" } = await listVms(ctx, request, signal);
      return { names: vms.map((v) => v.name), next: nextPageToken };
    };
    expect(await names(ask(prefix))).toEqual({
      names: ["lst-a", "lst-b", "lst-c", "lst-e"],
      next: "",
    });
    const first = await names(ask(prefix, 2));
    expect(first.names).toEqual(["lst-a", "lst-b"]);
    expect(await names(ask(prefix, 2, first.next))).toEqual({
      names: ["lst-c", "lst-e"],
      next: "",
    });
    expect((await names(ask(""))).names).toEqual(
      expect.arrayContaining(["lst-a", "lst-b", "lst-c", "lst-e", "lzt-f"]),
    );
    expect((await names(ask("nothing-'$(x)*"))).names).toEqual([]);
  });

  it("returns every field of a running managed domain: addresses by source, console, resources, metadata", async () => {
    const { vms = [] } = await listVms(ctx, ask(prefix), signal);
    expect(vms.map((v) => [v.name, v.providerFields?.["managed"]])).toEqual([
      ["lst-a", "created"],
      ["lst-b", "adopted"],
      ["lst-c", "adopted"],
      ["lst-e", "created"],
    ]);
    const uuid = (await virsh("domuuid", "--domain", "lst-a")).trim();
    const [first, second] = ["52:54:00:1c:01:01", "52:54:00:1c:01:02"];
    // Every field, so that one gone missing fails here.
    expect(vms[0]).toEqual({
      id: uuid,
      name: "lst-a",
      powerState: PowerState.ON,
      ipAddresses: [
        { address: "10.213.7.151", source: IpSource.DHCP_LEASE, macAddress: first },
        { address: "10.213.7.78", source: IpSource.ARP, macAddress: second },
        { address: "10.213.7.51", source: IpSource.STATIC, macAddress: first },
      ],
      consoleUrl: expect.stringMatching(/^vnc:\/\/127\.0\.0\.1:59\d\d$/),
      resources: {
        cpu: 1,
        memoryMib: 96,
        firmware: Firmware.BIOS,
        disks: [
          { name: "root", sizeGib: 1, type: DiskType.THIN },
          { name: "data", sizeGib: 2, type: DiskType.THICK },
        ],
        networkInterfaces: [
          {
            network: testbed().network,
            type: NetworkType.VIRTUAL,
            model: NicModel.VIRTIO,
            macAddress: first,
          },
          {
            network: testBridge(),
            type: NetworkType.BRIDGE,
            model: NicModel.E1000E,
            macAddress: second,
          },
        ],
      },
      tags: ["prod", "ünïcødé"],
      labels: { team: "infra", odd: `<b> & "q" 'a' ]]>\nline` },
      providerFields: {
        uuid,
        domain_type: "qemu",
        managed: "created",
        image: "debian-12",
        libvirt_state: "1",
      },
    });
    // A console listening everywhere is reached by the configured host.
    expect(vms[3]?.consoleUrl).toMatch(/^vnc:\/\/console\.example:59\d\d$/);
    // A stopped domain has neither addresses nor a console.
    expect(vms[1]).toMatchObject({ powerState: PowerState.OFF, ipAddresses: [], consoleUrl: "" });
    expect(vms[1]?.providerFields?.["linked_to"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("ListVMs takes the definitions that did not change from the last listing", () => {
  const signal = new AbortController().signal;
  const list = async () => {
    dumped.length = 0;
    const { vms = [] } = await listVms(ctx, { namePrefix: prefix } as never, signal);
    return { vms, read: dumped.reduce((a, b) => a + b, 0) };
  };
  const byName = (vms: Awaited<ReturnType<typeof list>>["vms"], name: string) =>
    vms.find((v) => v.name === name);

  beforeAll(async () => {
    // The first listing starts following libvirt's events; they are trusted a second later.
    await list();
    await new Promise((r) => setTimeout(r, 1500));
  });

  it("reads no definition while nothing changes, and answers the same", async () => {
    const first = await list();
    const again = await list();
    expect(again.read).toBe(0);
    expect(again.vms).toEqual(first.vms);
  });

  it("reads again a definition changed with an event (virsh define) and only that one", async () => {
    await list();
    const xml = await virsh("dumpxml", "--inactive", "--domain", "lst-b");
    const file = `${dir()}/lst-b-changed.xml`;
    await writeFile(file, xml.replace("<model type='e1000e'/>", "<model type='rtl8139'/>"));
    await virsh("define", "--file", file);
    // The event arrives within milliseconds; a listing at once may still be before it.
    await new Promise((r) => setTimeout(r, 300));
    const after = await list();
    expect(after.read).toBe(1);
    expect(byName(after.vms, "lst-b")?.resources?.networkInterfaces?.[1]?.model).toBe(
      NicModel.RTL8139,
    );
  });

  it("reads again a definition changed without an event (setvcpus --config): its figures moved", async () => {
    await list();
    await virsh("setvcpus", "--domain", "lst-b", "--count", "2", "--config");
    try {
      const after = await list();
      expect(after.read).toBe(1);
      expect(byName(after.vms, "lst-b")?.resources?.cpu).toBe(2);
    } finally {
      await virsh("setvcpus", "--domain", "lst-b", "--count", "1", "--config");
    }
  });

  it("reads every definition again after a change of its own (not waiting for the event)", async () => {
    await list();
    // Any call that may change the host counts; a no-op define of a domain's own XML is one.
    const xml = await virsh("dumpxml", "--inactive", "--domain", "lst-e");
    const file = `${dir()}/lst-e-same.xml`;
    await writeFile(file, xml);
    await ctx.host.exec(["virsh", "-c", testbed().uri, "define", "--file", file]);
    const after = await list();
    // lst-d is read too: unmanaged domains are left out after their definition says so.
    expect(after.read).toBe(5);
  });
});
