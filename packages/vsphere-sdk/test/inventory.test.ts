import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  InvalidPowerStateError,
  InventoryNotFoundError,
  ManagedObjectNotFoundError,
  type ManagedObjectReference,
  type VimClient,
  cloneVM,
  createContainerView,
  createFinder,
  createSnapshot,
  destroyEntity,
  escapeInventoryName,
  powerOffVM,
  powerOnVM,
  readTask,
  retrieveOne,
  waitForTask,
} from "../src/index.js";
import { uniqueName, vcsimClient, vcsimFromEnv } from "../src/testing/index.js";

let client: VimClient;
const made: ManagedObjectReference[] = [];

beforeAll(() => {
  client = vcsimClient();
});
afterAll(async () => {
  for (const vm of made) {
    await waitForTask(client, await powerOffVM(client, vm)).catch(() => {});
    await waitForTask(client, await destroyEntity(client, vm)).catch(() => {});
  }
  await client.close();
});

describe("finder", () => {
  const finder = () => createFinder(client);

  it.each([
    ["cluster", "DC0_C0", "ClusterComputeResource"],
    ["host", "DC0_H0", "HostSystem"],
    ["host", "DC0_C0/DC0_C0_H0", "HostSystem"],
    ["resourcePool", "DC0_C0", "ResourcePool"],
    ["resourcePool", "DC0_C0/Resources/DC0_C0_RP1", "ResourcePool"],
    ["datastore", "LocalDS_0", "Datastore"],
    ["datastoreCluster", "DC0_POD0", "StoragePod"],
    ["folder", "/DC0/vm", "Folder"],
    ["network", "VM Network", "Network"],
    ["network", "DC0_DVPG0", "DistributedVirtualPortgroup"],
    ["vm", "DC0_H0_VM0", "VirtualMachine"],
    ["template", "vrtg-template", "VirtualMachine"],
  ] as const)("finds the %s %s", async (kind, path, type) => {
    const item = await finder().find(kind, path);
    expect(item.ref.type).toBe(type);
  });

  it("finds the only datacenter when none is named", async () => {
    expect(await finder().datacenter()).toMatchObject({ ref: { type: "Datacenter" }, path: "DC0" });
  });

  it("tells a VM from a template", async () => {
    await expect(finder().find("vm", vcsimFromEnv().template)).rejects.toBeInstanceOf(
      InventoryNotFoundError,
    );
    await expect(finder().find("template", "DC0_H0_VM0")).rejects.toBeInstanceOf(
      InventoryNotFoundError,
    );
    expect(await finder().findOptional("vm", "no-such-vm")).toBeUndefined();
  });

  it("escapes names for inventory paths", () => {
    expect(escapeInventoryName("a/b%c\\d")).toBe("a%2fb%25c%5cd");
  });
});

describe("tasks and the property collector", () => {
  it("clones a template into a VM with a hostile name, which reads back unchanged", async () => {
    const name = `${uniqueName("web")} <1> & "co" 'x' ]]>`;
    const finder = createFinder(client);
    const template = await finder.find("template", vcsimFromEnv().template);
    const folder = await finder.find("folder", "/DC0/vm");
    const pool = await finder.find("resourcePool", "DC0_C0");
    const progress: number[] = [];
    const task = await cloneVM(client, template.ref, folder.ref, name, {
      location: { pool: pool.ref },
      template: false,
      powerOn: false,
    });
    const info = await waitForTask(client, task, { onProgress: (p) => progress.push(p) });
    const vm = info.result as ManagedObjectReference;
    made.push(vm);
    expect(vm.type).toBe("VirtualMachine");
    expect(progress.at(-1)).toBe(100);
    expect((await retrieveOne(client, vm, ["name"]))["name"]).toBe(name);
    expect((await readTask(client, task)).state).toBe("success");

    const snapshotTask = await createSnapshot(client, vm, {
      name: `snap <&> "1"`,
      description: "it's <b>bold</b>",
      memory: false,
      quiesce: false,
    });
    await waitForTask(client, snapshotTask);
    const snapshot = (await retrieveOne(client, vm, ["snapshot"]))["snapshot"] as {
      rootSnapshotList: Array<{ name: string; description: string }>;
    };
    expect(snapshot.rootSnapshotList[0]).toMatchObject({
      name: `snap <&> "1"`,
      description: "it's <b>bold</b>",
    });
  });

  it("decodes a failed call into its typed fault", async () => {
    const vm = (await createFinder(client).find("vm", "DC0_H0_VM1")).ref;
    const state = (await retrieveOne(client, vm, ["runtime.powerState"]))["runtime.powerState"];
    if (state !== "poweredOn") await waitForTask(client, await powerOnVM(client, vm));
    const error = await powerOnVM(client, vm)
      .then((task) => waitForTask(client, task))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidPowerStateError);
    await expect(
      retrieveOne(client, { type: "VirtualMachine", value: "vm-404" }, ["name"]),
    ).rejects.toBeInstanceOf(ManagedObjectNotFoundError);
  });

  it("reads every VM of a container view in one retrieval", async () => {
    const { rootFolder } = await client.serviceContent();
    const view = await createContainerView(client, rootFolder, ["VirtualMachine"]);
    const vms = await view.retrieve("VirtualMachine", [
      "name",
      "runtime.powerState",
      "config.template",
    ]);
    await view.destroy();
    expect(vms.length).toBeGreaterThanOrEqual(5);
    const names = vms.map((v) => v.propSet?.find((p) => p.name === "name")?.val);
    expect(names).toEqual(
      expect.arrayContaining(["DC0_H0_VM0", "DC0_C0_RP0_VM0", vcsimFromEnv().template]),
    );
  });
});
