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
  ProviderError,
  type TaskRef,
  type VirtualMachine,
} from "@virtrigaud/contracts";
import { type ProviderClient } from "@virtrigaud/contracts/client";
import { type TestServer, startTestServer } from "@virtrigaud/contracts/testing";
import {
  type GuestNicInfo,
  type OptionValue,
  type RoundTripEvent,
  type VimClient,
  createFinder,
  findVMByUuid,
  retrieveOne,
} from "@virtrigaud/vsphere-sdk";
import { type VsphereProvider, createVsphereProvider } from "../src/index.js";
import { uniqueName, vcsimClient, vcsimFromEnv, vcsimStats } from "@virtrigaud/vsphere-sdk/testing";

let test: TestServer;
let provider: VsphereProvider;
let client: ProviderClient;
let inspector: VimClient;
const events: RoundTripEvent[] = [];

beforeAll(async () => {
  provider = createVsphereProvider({
    client: vcsimClient({ onRoundTrip: (e) => events.push(e) }),
    defaults: { cluster: "DC0_C0" },
  });
  test = await startTestServer(provider);
  client = test.client;
  inspector = vcsimClient();
});
afterAll(async () => {
  await test.close();
  await provider.close();
  await inspector.close();
});

const template = { source: { case: "template" as const, value: vcsimFromEnv().template } };
const done = async (task: TaskRef | undefined) => {
  if (task) await client.waitForTask(task, { timeoutMs: 30_000 });
};
const vmRef = async (vmId: string) => {
  const dc = await createFinder(inspector).datacenter();
  const ref = await findVMByUuid(inspector, vmId, { datacenter: dc.ref });
  if (!ref) throw new Error(`no VM ${vmId}`);
  return ref;
};
const extraConfig = async (vmId: string) => {
  const values = await retrieveOne(inspector, await vmRef(vmId), ["config.extraConfig"]);
  const options = (values["config.extraConfig"] as OptionValue[]) ?? [];
  return new Map(options.map((o) => [o.key, String(o.value)]));
};
const b64 = (text: string | undefined) => Buffer.from(text ?? "", "base64").toString("utf8");

describe("Create", () => {
  it("clones a template, with CPU, memory, firmware, data disks, every NIC and cloud-init in guestinfo", async () => {
    const name = uniqueName("web");
    const { vmId, task } = await client.create({
      name,
      class: { cpu: 2, memoryMib: 2048, firmware: Firmware.UEFI },
      image: template,
      rootDiskSizeGib: 20,
      disks: [
        { name: "data", sizeGib: 5, type: DiskType.THICK_EAGER_ZEROED },
        { name: "logs", sizeGib: 1 },
      ],
      networks: [
        { network: "VM Network", type: NetworkType.PORT_GROUP, model: NicModel.E1000E },
        {
          network: "DC0_DVPG0",
          type: NetworkType.DISTRIBUTED_PORT_GROUP,
          staticIp: {
            address: "10.1.2.3",
            prefixLength: 24,
            gateway: "10.1.2.1",
            dnsServers: ["10.1.2.2"],
          },
        },
      ],
      cloudInit: { userData: '#cloud-config\npassword: "<&\'>"\n', metaData: "team: blue\n" },
      labels: { team: `blue <&> "x"` },
      tags: ["a&b"],
      powerOn: true,
    });
    expect(vmId).toMatch(/^[0-9a-f-]{36}$/);
    expect(task?.id).toMatch(/^vrtg-/);
    await done(task);
    const { vm } = await client.describe({ vmId });
    expect(vm).toMatchObject({
      id: vmId,
      name,
      powerState: PowerState.ON,
      labels: { team: `blue <&> "x"` },
      tags: ["a&b"],
      resources: {
        cpu: 2,
        memoryMib: 2048,
        firmware: Firmware.UEFI,
        disks: [
          { name: "root", sizeGib: 20, type: DiskType.THIN },
          { name: "data", sizeGib: 5, type: DiskType.THICK_EAGER_ZEROED },
          { name: "logs", sizeGib: 1, type: DiskType.THIN },
        ],
      },
    });
    const nics = vm?.resources?.networkInterfaces ?? [];
    expect(nics.map((n) => [n.network, n.type, n.model])).toEqual([
      ["VM Network", NetworkType.PORT_GROUP, NicModel.E1000E],
      ["DC0_DVPG0", NetworkType.DISTRIBUTED_PORT_GROUP, NicModel.VMXNET3],
    ]);
    // The NIC with a static address got a fixed MAC in VMware's manual range.
    expect(nics[1]?.macAddress).toMatch(/^00:50:56:[0-3][0-9a-f]:/);
    expect(vm?.consoleUrl).toContain(`/ui/webconsole.html?vmId=vm-`);

    const extra = await extraConfig(vmId);
    expect(extra.get("guestinfo.userdata.encoding")).toBe("base64");
    expect(b64(extra.get("guestinfo.userdata"))).toBe('#cloud-config\npassword: "<&\'>"\n');
    const meta = b64(extra.get("guestinfo.metadata"));
    expect(meta).toContain("team: blue");
    expect(meta).toContain(`instance-id: ${vmId}`);
    expect(meta).toContain(`local-hostname: ${name}`);
    const network = /network: (\S+)/.exec(meta)?.[1];
    expect(b64(network)).toContain("10.1.2.3/24");
    expect(b64(network)).toContain(nics[1]?.macAddress);
  });

  it("makes a VM from scratch when there is no image, in the requested resource pool", async () => {
    const name = uniqueName("scratch");
    const { vmId, task } = await client.create({
      name,
      class: { cpu: 1, memoryMib: 512 },
      rootDiskSizeGib: 8,
      disks: [{ name: "data", sizeGib: 2, type: DiskType.THICK }],
      networks: [{ network: "VM Network" }],
      placement: { resourcePool: "DC0_C0/Resources/DC0_C0_RP1", datastore: "LocalDS_0" },
    });
    // CreateVM_Task is one vSphere task; no power-on asked, yet Create still answers at once.
    await done(task);
    const { vm } = await client.describe({ vmId });
    expect(vm?.resources?.disks).toEqual([
      expect.objectContaining({ name: "root", sizeGib: 8 }),
      expect.objectContaining({ name: "data", sizeGib: 2, type: DiskType.THICK }),
    ]);
    const pool = (await retrieveOne(inspector, await vmRef(vmId), ["resourcePool"]))[
      "resourcePool"
    ];
    const rp1 = await createFinder(inspector).find("resourcePool", "DC0_C0/Resources/DC0_C0_RP1");
    expect(pool).toEqual(rp1.ref);
  });

  it("names the request's placement field that names nothing, and changes nothing", async () => {
    for (const [placement, field] of [
      [{ cluster: "no-such-cluster" }, "placement.cluster"],
      [{ datastore: "no-such-ds" }, "placement.datastore"],
      // The test bed's datastore cluster has no member datastore.
      [{ datastoreCluster: "DC0_POD0" }, "placement.datastore_cluster"],
      [{ folder: "no/such/folder" }, "placement.folder"],
    ] as const) {
      const name = uniqueName("badplace");
      const error = await client
        .create({ name, class: { cpu: 1, memoryMib: 256 }, image: template, placement })
        .catch((e: unknown) => e);
      expect(ProviderError.is(error, ErrorReason.INVALID_SPEC)).toBe(true);
      expect((error as ProviderError).field).toBe(field);
      expect((await client.listVMs({ namePrefix: name })).vms).toEqual([]);
    }
  });

  it("refuses a NIC model vSphere has not, and a network of the wrong kind", async () => {
    const base = { class: { cpu: 1, memoryMib: 256 }, image: template };
    const model = await client
      .create({
        ...base,
        name: uniqueName("nic"),
        networks: [{ network: "VM Network", model: NicModel.VIRTIO }],
      })
      .catch((e: unknown) => e as ProviderError);
    expect(model).toMatchObject({ reason: ErrorReason.INVALID_SPEC, field: "networks[0].model" });
    const kind = await client
      .create({
        ...base,
        name: uniqueName("nic"),
        networks: [{ network: "DC0_DVPG0", type: NetworkType.PORT_GROUP }],
      })
      .catch((e: unknown) => e as ProviderError);
    expect(kind).toMatchObject({ reason: ErrorReason.INVALID_SPEC, field: "networks[0].type" });
  });
});

describe("operations on a VM", () => {
  let vmId: string;
  beforeAll(async () => {
    const created = await client.create({
      name: uniqueName("ops"),
      class: { cpu: 1, memoryMib: 256 },
      image: template,
    });
    vmId = created.vmId;
    await done(created.task);
  });

  it("answers single-task operations with the vSphere task, which GetTask reads", async () => {
    const { task } = await client.power({ vmId, operation: PowerOperation.ON });
    expect(task?.id).toMatch(/^task-\d+$/);
    const { task: state } = await client.getTask({ task: task! });
    expect(state).toMatchObject({ id: task?.id, done: true, progressPercent: 100 });
    expect(state?.description).toContain("powerOn");
  });

  it("reboots through a reset when the guest cannot be asked (vcsim has no RebootGuest)", async () => {
    const { task } = await client.power({ vmId, operation: PowerOperation.REBOOT });
    expect(task?.id).toMatch(/^task-\d+$/);
    await done(task);
    expect((await client.describe({ vmId })).vm?.powerState).toBe(PowerState.ON);
  });

  it("grows CPU live with hot add, and keeps a shrink for the next power cycle", async () => {
    const grow = await client.reconfigure({ vmId, cpu: 2, memoryMib: 512 });
    expect(grow.powerCycleRequired).toBe(false);
    await done(grow.task);
    expect((await client.describe({ vmId })).vm?.resources).toMatchObject({
      cpu: 2,
      memoryMib: 512,
    });

    const shrink = await client.reconfigure({ vmId, cpu: 1 });
    expect(shrink.powerCycleRequired).toBe(true);
    await done(shrink.task);
    expect((await client.describe({ vmId })).vm?.resources?.cpu).toBe(2);
    const off = await client.power({
      vmId,
      operation: PowerOperation.SHUTDOWN,
      gracefulTimeoutSeconds: 5,
    });
    expect(off.task?.id).toMatch(/^vrtg-/);
    await done(off.task);
    expect((await client.describe({ vmId })).vm).toMatchObject({
      powerState: PowerState.OFF,
      resources: { cpu: 1 },
    });
  });

  it("reports a failed vSphere task with the typed reason", async () => {
    const { task } = await client.snapshotCreate({ vmId, name: "s1", description: `it's <b>` });
    await done(task);
    const first = await client.snapshotList({ vmId });
    expect(first.snapshots).toMatchObject([
      { id: "s1", name: "s1", description: `it's <b>`, includeMemory: false },
    ]);
    const error = await client.getTask({ task: { id: "task-999999" } }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.NOT_FOUND)).toBe(true);
  });
});

describe("guest data from VMware Tools", () => {
  /** Describes the VM until `predicate` holds (the test bed's Tools report a second after power-on). */
  const describeUntil = async (vmId: string, predicate: (vm: VirtualMachine) => boolean) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { vm } = await client.describe({ vmId });
      if (vm && predicate(vm)) return vm;
      if (Date.now() > deadline)
        throw new Error(`not so within 30 s: ${JSON.stringify(vm?.ipAddresses)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const plain = (vm: VirtualMachine | undefined) =>
    (vm?.ipAddresses ?? []).map(({ address, source, macAddress }) => ({
      address,
      source,
      macAddress,
    }));

  it("reports the addresses Tools give, GUEST_AGENT with each NIC's MAC, alike in Describe and ListVMs, and none once off", async () => {
    const name = uniqueName("tools");
    const created = await client.create({
      name,
      class: { cpu: 1, memoryMib: 256 },
      image: template,
      networks: [
        { network: "VM Network", type: NetworkType.PORT_GROUP },
        { network: "DC0_DVPG0", type: NetworkType.DISTRIBUTED_PORT_GROUP },
      ],
      powerOn: true,
    });
    await done(created.task);
    const { vmId } = created;
    const vm = await describeUntil(vmId, (v) => v.ipAddresses.length === 2);

    // What vCenter holds: guest.net, an entry per NIC with an IPv4 and a link-local address.
    const values = await retrieveOne(inspector, await vmRef(vmId), ["guest.net", "guest.hostName"]);
    const reported = (values["guest.net"] as GuestNicInfo[]).map((nic) => ({
      address: nic.ipAddress?.find((a) => !a.startsWith("fe80:")) ?? "",
      source: IpSource.GUEST_AGENT,
      macAddress: nic.macAddress ?? "",
    }));
    expect(reported.map((r) => r.macAddress)).toEqual(
      vm.resources?.networkInterfaces.map((n) => n.macAddress),
    );
    expect(plain(vm)).toEqual(reported);
    expect(vm.providerFields).toMatchObject({
      guestHostname: name,
      toolsRunningStatus: "guestToolsRunning",
    });
    expect(values["guest.hostName"]).toBe(name);

    const listed = (await client.listVMs({ namePrefix: name })).vms;
    expect(listed.map((v) => v.id)).toEqual([vmId]);
    expect(plain(listed[0])).toEqual(plain(vm));
    expect(listed[0]?.providerFields).toEqual(vm.providerFields);

    await done((await client.power({ vmId, operation: PowerOperation.OFF })).task);
    // Off at once, and no addresses; Tools are seen to stop a moment later, as in vCenter.
    expect(plain((await client.describe({ vmId })).vm)).toEqual([]);
    const off = await describeUntil(
      vmId,
      (v) => v.providerFields["toolsRunningStatus"] === "guestToolsNotRunning",
    );
    expect(off.powerState).toBe(PowerState.OFF);
    expect(plain(off)).toEqual([]);
    expect(off.providerFields["guestHostname"]).toBeUndefined();
    const listedOff = (await client.listVMs({ namePrefix: name })).vms;
    expect(plain(listedOff[0])).toEqual([]);
    expect(listedOff[0]?.providerFields).toEqual(off.providerFields);
  });
});

describe("ListVMs", () => {
  it("reads every VM with one property-collector retrieval", async () => {
    await client.listVMs({});
    events.length = 0;
    const { vms } = await client.listVMs({ pageSize: 1000 });
    expect(vms.length).toBeGreaterThan(4);
    expect(events.map((e) => e.method)).toEqual(["RetrievePropertiesEx"]);
  });
});

describe("credentials", () => {
  it("answers UNAUTHENTICATED at once for a wrong password, with one login attempt", async () => {
    // Its own User-Agent: vcsim counts this test's logins apart from other tests'.
    const userAgent = uniqueName("wrong-password");
    const logins = async () => (await vcsimStats(vcsimFromEnv(), { userAgent }))["Login"] ?? 0;
    const wrong = createVsphereProvider({
      client: vcsimClient({ password: "wrong & <bad>", userAgent }),
    });
    const server = await startTestServer(wrong);
    try {
      const before = await logins();
      const started = Date.now();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          server.client.describe({ vmId: "00000000-0000-0000-0000-000000000000" }),
        ),
      );
      expect(
        results.every(
          (r) => r.status === "rejected" && ProviderError.is(r.reason, ErrorReason.UNAUTHENTICATED),
        ),
      ).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await logins()) - before).toBe(1);
    } finally {
      await server.close();
      await wrong.close();
    }
  });
});
