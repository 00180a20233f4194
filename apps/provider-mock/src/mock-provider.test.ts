import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "@jest/globals";
import {
  ChecksumAlgorithm,
  CloneType,
  ErrorReason,
  IpSource,
  PowerOperation,
  PowerState,
  ProviderError,
  type TaskRef,
} from "@virtrigaud/contracts";
import { type ProviderClient } from "@virtrigaud/contracts/client";
import {
  type FakeClock,
  type TestServer,
  createFakeClock,
  startTestServer,
} from "@virtrigaud/contracts/testing";
import { type MockProviderOptions, createMockProvider } from "./mock-provider.js";

const vmClass = { cpu: 2, memoryMib: 2048 };
/** Every mock a test started, closed after it. */
const running: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((close) => close()));
});

/** Serves a mock on loopback with a fake clock; tasks take `latencyMs` of fake time. */
async function serve(options: MockProviderOptions = {}) {
  const clock = options.clock ?? createFakeClock();
  const provider = createMockProvider({ latencyMs: 1000, ...options, clock });
  const test: TestServer = await startTestServer(provider);
  const close = async () => {
    await test.close();
    await provider.close();
  };
  running.push(close);
  return { client: test.client, clock: clock as FakeClock, close };
}

/** Finishes a task by moving fake time on, and returns its final state. */
async function settle(
  client: ProviderClient,
  clock: FakeClock,
  task: TaskRef | undefined,
  ms = 1000,
) {
  await clock.advance(ms);
  return task ? client.waitForTask(task, { pollIntervalMs: 5 }) : undefined;
}

async function failure(call: Promise<unknown>): Promise<ProviderError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(ProviderError.is(error)).toBe(true);
  return error as ProviderError;
}

describe("create and delete", () => {
  it("creates a VM in the background and reports it once the task is done", async () => {
    const { client, clock } = await serve();
    const { vmId, task } = await client.create({ name: "web-1", class: vmClass, powerOn: true });
    expect(task?.id).toBeTruthy();
    expect((await client.getTask({ task })).task?.done).toBe(false);
    expect((await client.describe({ vmId })).vm?.providerFields["phase"]).toBe("creating");
    await settle(client, clock, task);
    const { exists, vm } = await client.describe({ vmId });
    expect(exists).toBe(true);
    expect(vm).toMatchObject({
      name: "web-1",
      powerState: PowerState.ON,
      resources: { cpu: 2, memoryMib: 2048 },
    });
    expect(vm?.ipAddresses[0]?.source).toBe(IpSource.GUEST_AGENT);
  });

  it("creating twice with one name yields one VM", async () => {
    const { client, clock } = await serve();
    const first = await client.create({ name: "twice", class: vmClass });
    const second = await client.create({ name: "twice", class: vmClass });
    expect(second.vmId).toBe(first.vmId);
    expect(second.task?.id).toBe(first.task?.id);
    await settle(client, clock, first.task);
    const third = await client.create({ name: "twice", class: { cpu: 8, memoryMib: 8192 } });
    expect(third.vmId).toBe(first.vmId);
    expect(third.task).toBeUndefined();
    expect((await client.listVMs({ namePrefix: "twice" })).vms).toHaveLength(1);
  });

  it("ten concurrent creates of one name yield one VM", async () => {
    const { client } = await serve({ latencyMs: 0 });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.create({ name: "racer", class: vmClass })),
    );
    expect(new Set(results.map((r) => r.vmId)).size).toBe(1);
    expect((await client.listVMs({})).vms).toHaveLength(1);
  });

  it("deleting a VM that does not exist succeeds", async () => {
    const { client } = await serve();
    await expect(client.delete({ vmId: "vm-999999" })).resolves.toMatchObject({});
  });

  it("deletes a VM in the background", async () => {
    const { client, clock } = await serve();
    const { vmId, task } = await client.create({ name: "gone", class: vmClass });
    await settle(client, clock, task);
    const deleting = await client.delete({ vmId });
    expect((await client.delete({ vmId })).task?.id).toBe(deleting.task?.id);
    await settle(client, clock, deleting.task);
    expect((await client.describe({ vmId })).exists).toBe(false);
  });

  it("refuses an unknown template, naming the field, and creates nothing", async () => {
    const { client } = await serve();
    const error = await failure(
      client.create({
        name: "x",
        class: vmClass,
        image: { source: { case: "template", value: "windows-95" } },
      }),
    );
    expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(error.field).toBe("image.template");
    expect((await client.listVMs({})).vms).toHaveLength(0);
  });

  it("answers RETRYABLE for a VM still being created", async () => {
    const { client } = await serve();
    const { vmId } = await client.create({ name: "young", class: vmClass });
    const error = await failure(client.power({ vmId, operation: PowerOperation.ON }));
    expect(error.reason).toBe(ErrorReason.RETRYABLE);
    expect(error.retryAfterMs).toBe(1000);
  });
});

describe("set credentials", () => {
  it("keeps what SetCredentials hands over, names only its keys, and refuses empty data", async () => {
    const { client } = await serve();
    const data = { username: Buffer.from("admin"), password: Buffer.from("pa55-w0rd") };
    await client.setCredentials({ data });
    await client.setCredentials({ data });
    const { message } = await client.validate({});
    expect(message).toBe(
      "mock provider with 0 VMs, credentials from the manager (password, username)",
    );
    const error = await client.setCredentials({ data: {} }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.INVALID_SPEC) && error.field).toBe("data");
    // A refusal leaves what was held.
    expect((await client.validate({})).message).toContain("(password, username)");
  });
});

describe("power", () => {
  async function created(options: MockProviderOptions = {}) {
    const served = await serve(options);
    const { vmId, task } = await served.client.create({ name: "p", class: vmClass });
    await settle(served.client, served.clock, task);
    const power = async (operation: PowerOperation, gracefulTimeoutSeconds = 0) => {
      const { task: t } = await served.client.power({ vmId, operation, gracefulTimeoutSeconds });
      return t;
    };
    const state = async () => (await served.client.describe({ vmId })).vm?.powerState;
    return { ...served, vmId, power, state };
  }

  it("moves through on, reboot, suspend, resume, shutdown and off", async () => {
    const { client, clock, power, state } = await created();
    await settle(client, clock, await power(PowerOperation.ON));
    expect(await state()).toBe(PowerState.ON);
    await settle(client, clock, await power(PowerOperation.REBOOT));
    expect(await state()).toBe(PowerState.ON);
    await settle(client, clock, await power(PowerOperation.SUSPEND));
    expect(await state()).toBe(PowerState.SUSPENDED);
    await settle(client, clock, await power(PowerOperation.ON));
    expect(await state()).toBe(PowerState.ON);
    await settle(client, clock, await power(PowerOperation.SHUTDOWN, 30));
    expect(await state()).toBe(PowerState.OFF);
    expect(await power(PowerOperation.OFF)).toBeUndefined(); // already off: nothing to do
  });

  it("refuses to reboot or suspend a VM that is off", async () => {
    const { client, vmId } = await created();
    expect((await failure(client.power({ vmId, operation: PowerOperation.REBOOT }))).reason).toBe(
      ErrorReason.CONFLICT,
    );
    expect((await failure(client.power({ vmId, operation: PowerOperation.SUSPEND }))).reason).toBe(
      ErrorReason.CONFLICT,
    );
  });

  it("powers off hard when a guest ignores the shutdown request for its timeout", async () => {
    const { client, clock, power, state } = await created({
      faults: [{ operation: "power", mode: "ignore-acpi" }],
    });
    await settle(client, clock, await power(PowerOperation.ON));
    const task = await power(PowerOperation.SHUTDOWN, 60);
    await clock.advance(59_000);
    expect(await state()).toBe(PowerState.ON);
    await settle(client, clock, task, 2000);
    expect(await state()).toBe(PowerState.OFF);
  });
});

describe("reconfigure", () => {
  it("applies CPU, memory and disk growth, and refuses to shrink a disk", async () => {
    const { client, clock } = await serve();
    const { vmId, task } = await client.create({
      name: "r",
      class: vmClass,
      disks: [{ name: "data", sizeGib: 10 }],
    });
    await settle(client, clock, task);
    const changed = await client.reconfigure({
      vmId,
      cpu: 4,
      memoryMib: 4096,
      disks: [{ name: "data", sizeGib: 20 }],
    });
    expect(changed.powerCycleRequired).toBe(false);
    await settle(client, clock, changed.task);
    const { vm } = await client.describe({ vmId });
    expect(vm?.resources).toMatchObject({
      cpu: 4,
      memoryMib: 4096,
      disks: [{ name: "data", sizeGib: 20 }],
    });

    const shrink = await failure(
      client.reconfigure({ vmId, disks: [{ name: "data", sizeGib: 5 }] }),
    );
    expect(shrink.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(shrink.field).toBe("disks[0].size_gib");
  });

  it("says a running VM needs a power cycle when online reconfigure is off, and applies it at power-off", async () => {
    const { client, clock } = await serve({ disable: ["online_reconfigure"] });
    const { vmId, task } = await client.create({ name: "r", class: vmClass, powerOn: true });
    await settle(client, clock, task);
    const changed = await client.reconfigure({ vmId, cpu: 8 });
    expect(changed.powerCycleRequired).toBe(true);
    await settle(client, clock, changed.task);
    expect((await client.describe({ vmId })).vm?.resources?.cpu).toBe(2);
    await settle(client, clock, (await client.power({ vmId, operation: PowerOperation.OFF })).task);
    expect((await client.describe({ vmId })).vm?.resources?.cpu).toBe(8);
  });
});

describe("snapshots and clones", () => {
  it("reverts to a snapshot's configuration", async () => {
    const { client, clock } = await serve();
    const { vmId, task } = await client.create({ name: "s", class: vmClass });
    await settle(client, clock, task);
    const snap = await client.snapshotCreate({ vmId, name: "before" });
    expect((await client.snapshotCreate({ vmId, name: "before" })).snapshotId).toBe(
      snap.snapshotId,
    );
    await settle(client, clock, snap.task);
    await settle(client, clock, (await client.reconfigure({ vmId, cpu: 6 })).task);
    await settle(
      client,
      clock,
      (await client.snapshotRevert({ vmId, snapshotId: snap.snapshotId })).task,
    );
    expect((await client.describe({ vmId })).vm?.resources?.cpu).toBe(2);
    const { snapshots } = await client.snapshotList({ vmId });
    expect(snapshots.map((s) => s.name)).toEqual(["before"]);
    await settle(
      client,
      clock,
      (await client.snapshotDelete({ vmId, snapshotId: snap.snapshotId })).task,
    );
    expect((await client.snapshotList({ vmId })).snapshots).toEqual([]);
    await expect(
      client.snapshotDelete({ vmId, snapshotId: snap.snapshotId }),
    ).resolves.toMatchObject({});
  });

  it("keeps a full clone after its source is deleted, and protects the source of a linked clone", async () => {
    const { client, clock } = await serve();
    const source = await client.create({ name: "src", class: vmClass });
    await settle(client, clock, source.task);
    const full = await client.clone({
      sourceVmId: source.vmId,
      name: "full",
      type: CloneType.FULL,
    });
    const linked = await client.clone({
      sourceVmId: source.vmId,
      name: "linked",
      type: CloneType.LINKED,
    });
    await settle(client, clock, full.task);
    await client.waitForTask(linked.task, { pollIntervalMs: 5 });

    expect((await failure(client.delete({ vmId: source.vmId }))).reason).toBe(ErrorReason.CONFLICT);
    await settle(client, clock, (await client.delete({ vmId: linked.vmId })).task);
    await settle(client, clock, (await client.delete({ vmId: source.vmId })).task);
    const { exists, vm } = await client.describe({ vmId: full.vmId });
    expect(exists).toBe(true);
    expect(vm?.resources?.cpu).toBe(2);
  });
});

describe("images", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers ImagePrepare of a path with the path itself, checked and with no task", async () => {
    const { client } = await serve();
    const prepared = await client.imagePrepare({
      name: "on-host",
      source: { source: { case: "path", value: "/images/debian.qcow2" } },
    });
    expect(prepared.task).toBeUndefined();
    expect(prepared.image?.source).toEqual({ case: "path", value: "/images/debian.qcow2" });
    const error = await failure(
      client.imagePrepare({
        name: "relative",
        source: { source: { case: "path", value: "debian.qcow2" } },
      }),
    );
    expect([error.reason, error.field]).toEqual([ErrorReason.INVALID_SPEC, "source.path"]);
  });

  it("prepares an image from a file URL after checking its digest, and creates from it", async () => {
    dir = mkdtempSync(join(tmpdir(), "mock-image-"));
    const file = join(dir, "disk.qcow2");
    writeFileSync(file, "not really a disk");
    const digest = createHash("sha256").update("not really a disk").digest("hex");
    const { client, clock } = await serve();
    const url = {
      url: pathToFileURL(file).href,
      checksum: { algorithm: ChecksumAlgorithm.SHA256, value: digest },
    };

    const prepared = await client.imagePrepare({
      name: "disk",
      source: { source: { case: "url", value: url } },
    });
    await settle(client, clock, prepared.task);
    const vm = await client.create({ name: "from-image", class: vmClass, image: prepared.image });
    await settle(client, clock, vm.task);
    expect((await client.describe({ vmId: vm.vmId })).vm?.resources?.disks[0]).toMatchObject({
      name: "root",
    });

    const bad = {
      ...url,
      checksum: { algorithm: ChecksumAlgorithm.SHA256, value: "0".repeat(64) },
    };
    const failed = await client.imagePrepare({
      name: "bad",
      source: { source: { case: "url", value: bad } },
    });
    await clock.advance(1000);
    const error = await failure(client.waitForTask(failed.task, { pollIntervalMs: 5 }));
    expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(error.field).toBe("source.url.checksum.value");
  });
});

describe("listing", () => {
  it("pages through VMs by name with a prefix filter", async () => {
    const { client } = await serve({ latencyMs: 0 });
    for (const name of ["b-2", "a-1", "b-1", "b-3", "c-1"])
      await client.create({ name, class: vmClass });
    const first = await client.listVMs({ namePrefix: "b-", pageSize: 2 });
    expect(first.vms.map((v) => v.name)).toEqual(["b-1", "b-2"]);
    const second = await client.listVMs({
      namePrefix: "b-",
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.vms.map((v) => v.name)).toEqual(["b-3"]);
    expect(second.nextPageToken).toBe("");
    const error = await failure(client.listVMs({ pageToken: "garbage" }));
    expect(error.field).toBe("page_token");
  });
});

describe("persistence and seeding", () => {
  it("keeps the inventory in the state file across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mock-state-"));
    const stateFile = join(dir, "state.json");
    try {
      const first = await serve({ stateFile, latencyMs: 0 });
      const { vmId } = await first.client.create({ name: "durable", class: vmClass });
      await first.close();
      running.splice(running.indexOf(first.close), 1);
      const second = await serve({ stateFile });
      expect((await second.client.describe({ vmId })).vm?.name).toBe("durable");
      expect((await second.client.create({ name: "next", class: vmClass })).vmId).not.toBe(vmId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the cloud-init Create gave a VM in the state file, as a hypervisor keeps its seed disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mock-state-"));
    const stateFile = join(dir, "state.json");
    try {
      const { client, close } = await serve({ stateFile, latencyMs: 0 });
      const cloudInit = { userData: "#cloud-config\nhostname: seeded", metaData: "instance-id: 1" };
      await client.create({ name: "booted", class: vmClass, cloudInit });
      await close();
      running.splice(running.indexOf(close), 1);
      const state = JSON.parse(readFileSync(stateFile, "utf8")) as {
        vms: Array<{ name: string; cloudInit?: unknown }>;
      };
      expect(state.vms.find((vm) => vm.name === "booted")?.cloudInit).toEqual(cloudInit);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts with a seed inventory", async () => {
    const { client } = await serve({
      inventory: { templates: ["golden"], vms: [{ name: "seeded", cpu: 4, powerState: "on" }] },
    });
    const { vms } = await client.listVMs({});
    expect(vms).toMatchObject([
      { name: "seeded", powerState: PowerState.ON, resources: { cpu: 4 } },
    ]);
    await expect(
      client.create({
        name: "x",
        class: vmClass,
        image: { source: { case: "template", value: "golden" } },
      }),
    ).resolves.toMatchObject({ vmId: expect.any(String) });
  });
});

describe("the details a provider must get right", () => {
  it("reports no console URL when the console capability is off", async () => {
    const { client, clock } = await serve({ disable: ["console"] });
    const { vmId, task } = await client.create({ name: "headless", class: vmClass });
    await settle(client, clock, task);
    expect((await client.describe({ vmId })).vm?.consoleUrl).toBe("");
    const other = await serve();
    const made = await other.client.create({ name: "with-console", class: vmClass });
    expect((await other.client.describe({ vmId: made.vmId })).vm?.consoleUrl).toMatch(
      /^https:\/\/console\.mock\.invalid\/vms\//,
    );
  });

  it("hands a repeated SnapshotCreate the task still running", async () => {
    const { client, clock } = await serve();
    const { vmId, task } = await client.create({ name: "snappy", class: vmClass });
    await settle(client, clock, task);
    const first = await client.snapshotCreate({ vmId, name: "s1" });
    const again = await client.snapshotCreate({ vmId, name: "s1" });
    expect(again).toMatchObject({ snapshotId: first.snapshotId, task: { id: first.task?.id } });
    await settle(client, clock, first.task);
    expect((await client.snapshotCreate({ vmId, name: "s1" })).task).toBeUndefined();
  });

  it("takes back the base snapshot of a linked clone whose task fails", async () => {
    const { client, clock } = await serve({
      faults: [{ operation: "clone", mode: "fail-task", reason: "unavailable" }],
    });
    const source = await client.create({ name: "base", class: vmClass });
    await settle(client, clock, source.task);
    const clone = await client.clone({
      sourceVmId: source.vmId,
      name: "linky",
      type: CloneType.LINKED,
    });
    expect((await client.snapshotList({ vmId: source.vmId })).snapshots).toHaveLength(1);
    await clock.advance(1000);
    const error = await failure(client.waitForTask(clone.task, { pollIntervalMs: 5 }));
    expect(error.reason).toBe(ErrorReason.UNAVAILABLE);
    expect((await client.snapshotList({ vmId: source.vmId })).snapshots).toEqual([]);
    expect((await client.describe({ vmId: clone.vmId })).exists).toBe(false);
  });

  it("names the Create field when a file image fails its digest check", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mock-image-"));
    try {
      const file = join(dir, "disk.img");
      writeFileSync(file, "bytes");
      const { client, clock } = await serve();
      const bad = {
        url: pathToFileURL(file).href,
        checksum: { algorithm: ChecksumAlgorithm.SHA256, value: "0".repeat(64) },
      };
      const made = await client.create({
        name: "bad-image",
        class: vmClass,
        image: { source: { case: "url", value: bad } },
      });
      await clock.advance(1000);
      const error = await failure(client.waitForTask(made.task, { pollIntervalMs: 5 }));
      expect(error.field).toBe("image.url.checksum.value");
      expect((await client.describe({ vmId: made.vmId })).exists).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("shutdown", () => {
  it("keeps work in progress in the state file and finishes it at the next start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mock-shutdown-"));
    const stateFile = join(dir, "state.json");
    try {
      const first = await serve({ stateFile, latencyMs: 60_000 });
      const { vmId } = await first.client.create({ name: "interrupted", class: vmClass });
      await first.close(); // the create task is aborted, not undone
      running.splice(running.indexOf(first.close), 1);
      const second = await serve({ stateFile });
      const { exists, vm } = await second.client.describe({ vmId });
      expect(exists).toBe(true);
      expect(vm?.providerFields["phase"]).toBe("ready");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
