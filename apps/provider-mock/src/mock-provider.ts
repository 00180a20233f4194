import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type Capabilities,
  CapabilitiesSchema,
  ChecksumAlgorithm,
  type Clock,
  CloneType,
  DiskType,
  Firmware,
  type ImageSource,
  ImageSourceKind,
  type ImageSourceSchema,
  type Logger,
  NetworkType,
  NicModel,
  type Provider,
  type ProviderContext,
  ProviderError,
  type ProviderMethodName,
  PowerOperation,
  PowerState,
  type TaskRef,
  createLogger,
  createTaskTracker,
  systemClock,
  pageTokenAfter,
  pageTokenOf,
} from "@virtrigaud/contracts";
import { type FaultRule, createFaultInjector } from "./faults.js";
import { MockStore } from "./mock-store.js";
import { createPrng } from "./prng.js";
import { type SeedInventory, checkSeedInventory } from "./seed-inventory.js";
import {
  type MachineConfig,
  type SnapshotRecord,
  type VmRecord,
  toVirtualMachine,
} from "./vm-record.js";

/** The capabilities the mock can turn off, by their proto field names. */
export const capabilityFlags = {
  online_reconfigure: "onlineReconfigure",
  online_disk_grow: "onlineDiskGrow",
  snapshots: "snapshots",
  memory_snapshots: "memorySnapshots",
  linked_clones: "linkedClones",
  full_clones: "fullClones",
  image_prepare: "imagePrepare",
  suspend: "suspend",
  console: "console",
} as const satisfies Record<string, keyof Capabilities>;

/** A capability the mock can turn off. */
export type CapabilityFlag = keyof typeof capabilityFlags;

/** Options of `createMockProvider`. */
export interface MockProviderOptions {
  /** How long every task takes, on `clock`. Default: 0 (done as soon as the call returns). */
  latencyMs?: number;
  /** Seeds generated MAC and IP addresses and fault decisions. Default: 1. */
  seed?: number;
  /** Faults to inject. Default: none. */
  faults?: FaultRule[];
  /** Keep the inventory in this JSON file, so it survives a restart. Default: memory only. */
  stateFile?: string;
  /** Templates and VMs to start with. Checked like `--inventory` files. */
  inventory?: SeedInventory;
  /** Capabilities to declare as unsupported. */
  disable?: CapabilityFlag[];
  /** Default: the system clock. A fake clock lets tests finish tasks without sleeping. */
  clock?: Clock;
  /** Default: silent. */
  logger?: Logger;
}

/** The mock provider: a `Provider`, plus `close` to stop its tasks and write its state file. */
export type MockProvider = Provider & { close(): Promise<void> };

const defaultTemplates = ["debian-12", "ubuntu-24.04"];
const imageSizeGib = 10;
const defaultShutdownTimeoutSeconds = 300;

function mockCapabilities(disabled: readonly CapabilityFlag[]): Capabilities {
  const capabilities = create(CapabilitiesSchema, {
    providerType: "mock",
    providerVersion: "0.1.0",
    onlineReconfigure: true,
    onlineDiskGrow: true,
    snapshots: true,
    memorySnapshots: true,
    linkedClones: true,
    fullClones: true,
    imagePrepare: true,
    suspend: true,
    console: true,
    diskTypes: [DiskType.THIN, DiskType.THICK, DiskType.THICK_EAGER_ZEROED],
    networkTypes: [
      NetworkType.VIRTUAL,
      NetworkType.BRIDGE,
      NetworkType.PORT_GROUP,
      NetworkType.DISTRIBUTED_PORT_GROUP,
    ],
    firmwareTypes: [Firmware.BIOS, Firmware.UEFI],
    imageSources: [ImageSourceKind.TEMPLATE, ImageSourceKind.PATH, ImageSourceKind.URL],
  });
  for (const flag of disabled) capabilities[capabilityFlags[flag]] = false;
  if (!capabilities.snapshots) capabilities.memorySnapshots = false;
  return capabilities;
}

function copyConfig(config: MachineConfig): MachineConfig {
  return {
    cpu: config.cpu,
    memoryMib: config.memoryMib,
    disks: config.disks.map((d) => ({ ...d })),
  };
}

/**
 * Creates the reference provider: every RPC, every capability, an in-memory
 * inventory (optionally persisted), tasks that take `latencyMs`, and seeded
 * fault injection.
 *
 * @throws Error when the seed inventory or a fault rule is invalid.
 */
export function createMockProvider(options: MockProviderOptions = {}): MockProvider {
  if (options.inventory) checkSeedInventory(options.inventory);
  const clock = options.clock ?? systemClock;
  const latencyMs = options.latencyMs ?? 0;
  const logger = options.logger ?? createLogger({ level: "silent" });
  const random = createPrng((options.seed ?? 1) ^ 0x5eed);
  const faults = createFaultInjector(
    { seed: options.seed ?? 1, faults: options.faults ?? [] },
    clock,
  );
  const store = new MockStore(options.stateFile, logger);
  const capabilities = mockCapabilities(options.disable ?? []);
  const templates = new Set(options.inventory?.templates ?? defaultTemplates);
  const tasks = createTaskTracker({
    clock,
    onInternalError: (taskId, error) =>
      logger.error({ taskId, err: error.cause ?? error }, "task failed"),
  });

  const byte = () => Math.floor(random() * 254) + 1;
  const newMac = () =>
    `52:54:00:${[byte(), byte(), byte()].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;
  const newGuestAddress = () => `10.77.${byte()}.${byte()}`;

  for (const seed of options.inventory?.vms ?? []) {
    if (store.byName(seed.name)) continue;
    const power = { on: PowerState.ON, off: PowerState.OFF, suspended: PowerState.SUSPENDED }[
      seed.powerState ?? "off"
    ];
    store.add({
      id: store.newId("vm"),
      name: seed.name,
      phase: "ready",
      taskId: "",
      powerState: power,
      firmware: Firmware.BIOS,
      config: {
        cpu: seed.cpu ?? 1,
        memoryMib: seed.memoryMib ?? 1024,
        disks: (seed.disks ?? [{ name: "root", sizeGib: imageSizeGib }]).map((d) => ({
          ...d,
          type: DiskType.THIN,
        })),
      },
      pending: undefined,
      nics: (seed.networks ?? ["default"]).map((network) => ({
        network,
        type: NetworkType.VIRTUAL,
        model: NicModel.VIRTIO,
        macAddress: newMac(),
        staticAddress: "",
      })),
      guestAddress: newGuestAddress(),
      tags: seed.tags ?? [],
      labels: seed.labels ?? {},
      image: "",
      createTime: clock.now(),
      snapshots: [],
      currentSnapshotId: "",
      linkedTo: undefined,
    });
  }

  /**
   * Runs `apply` as a task after the configured latency. When `failure` is
   * set (a fail-task fault), the task ends with it and `undo` runs instead.
   */
  const runTask = (
    description: string,
    failure: ProviderError | undefined,
    apply: (signal: AbortSignal) => void | Promise<void>,
    undo: () => void = () => {},
  ): TaskRef =>
    tasks.start(description, async ({ signal }) => {
      try {
        if (latencyMs > 0) await clock.sleep(latencyMs, signal);
        if (failure) throw failure;
        await apply(signal);
      } catch (err) {
        // Stopped by shutdown: keep the work in progress, to be finished at the
        // next start (see MockStore), rather than undo what the caller was promised.
        if (!signal.aborted) undo();
        throw err;
      } finally {
        store.changed();
      }
    });

  /** The VM, or NOT_FOUND. */
  const find = (vmId: string): VmRecord => {
    const vm = store.vms.get(vmId);
    if (!vm) throw ProviderError.notFound(`vm ${vmId} does not exist`);
    return vm;
  };

  /** The VM, when no create or delete is running on it. */
  const ready = (vmId: string): VmRecord => {
    const vm = find(vmId);
    if (vm.phase === "creating") {
      throw ProviderError.retryable(`vm ${vmId} is still being created`, {
        retryAfterMs: Math.max(100, latencyMs),
      });
    }
    if (vm.phase === "deleting") throw ProviderError.conflict(`vm ${vmId} is being deleted`);
    return vm;
  };

  const enter = (operation: ProviderMethodName, ctx: ProviderContext) =>
    faults.enter(operation, ctx.signal);

  const reportFaults = (operation: ProviderMethodName) => ({
    hideAddresses: faults.fires(operation, "no-ip"),
    liePowerState: faults.fires(operation, "lie-power-state"),
    console: capabilities.console,
  });

  /** Tasks of snapshots still being taken, by snapshot id, so a repeated call joins them. */
  const snapshotTasks = new Map<string, string>();

  /** Images whose ImagePrepare task is still running, so a repeated call joins it. */
  const preparing = new Map<string, { name: string; source: string; taskId: string }>();

  const knownTemplate = (name: string) => templates.has(name) || store.images.has(name);

  /** Describes a Create image, or INVALID_SPEC when it cannot be used. */
  const resolveImage = (image: ImageSource | undefined, field: string): string => {
    const source = image?.source;
    switch (source?.case) {
      case undefined:
        return "";
      case "template":
        if (!knownTemplate(source.value)) {
          throw ProviderError.invalidSpec(
            `${field}.template`,
            `no template named ${JSON.stringify(source.value)}`,
          );
        }
        return `template:${source.value}`;
      case "path":
        if (!source.value.startsWith("/") && !source.value.startsWith("[")) {
          throw ProviderError.invalidSpec(
            `${field}.path`,
            "must be an absolute path or a datastore path",
          );
        }
        return `path:${source.value}`;
      case "url":
        return `url:${source.value.url}`;
    }
  };

  /**
   * Reads a file:// image and checks its digest, as a real provider would
   * after a download; `field` is where the image sits in the request.
   */
  const verifyFileImage = async (
    image: ImageSource | undefined,
    field: string,
    signal: AbortSignal,
  ) => {
    if (image?.source.case !== "url" || !image.source.value.url.startsWith("file:")) return;
    const { url, checksum } = image.source.value;
    const data = await readFile(fileURLToPath(url), { signal }).catch((err: unknown) => {
      throw ProviderError.invalidSpec(`${field}.url.url`, `cannot read ${url}`, { cause: err });
    });
    const algorithm = checksum?.algorithm === ChecksumAlgorithm.SHA512 ? "sha512" : "sha256";
    const digest = createHash(algorithm).update(data).digest("hex");
    if (digest !== checksum?.value.toLowerCase()) {
      throw ProviderError.invalidSpec(
        `${field}.url.checksum.value`,
        `the ${algorithm} digest of ${url} is ${digest}`,
      );
    }
  };

  const linkedClonesOf = (vm: VmRecord, snapshotId?: string) =>
    [...store.vms.values()].filter(
      (c) =>
        c.linkedTo?.vmId === vm.id &&
        (snapshotId === undefined || c.linkedTo.snapshotId === snapshotId),
    );

  const newVm = (name: string, fields: Partial<VmRecord>): VmRecord => ({
    id: store.newId("vm"),
    name,
    phase: "creating",
    taskId: "",
    powerState: PowerState.OFF,
    firmware: Firmware.BIOS,
    config: { cpu: 1, memoryMib: 1024, disks: [] },
    pending: undefined,
    nics: [],
    guestAddress: newGuestAddress(),
    tags: [],
    labels: {},
    image: "",
    createTime: clock.now(),
    snapshots: [],
    currentSnapshotId: "",
    linkedTo: undefined,
    ...fields,
  });

  /**
   * Starts the task that finishes creating `vm`; repeated Creates get the same
   * task. When it fails, the VM goes, and so does whatever `undo` reverts.
   */
  const finishCreate = (
    vm: VmRecord,
    operation: ProviderMethodName,
    powerOn: boolean,
    prepare?: (signal: AbortSignal) => Promise<void>,
    undo: () => void = () => {},
  ) => {
    store.add(vm);
    const failure = faults.taskFailure(operation);
    const task = runTask(
      `${operation} ${vm.name}`,
      failure,
      async (signal) => {
        await prepare?.(signal);
        vm.phase = "ready";
        vm.taskId = "";
        if (powerOn) vm.powerState = PowerState.ON;
      },
      () => {
        store.remove(vm);
        undo();
      },
    );
    vm.taskId = task.id;
    return { vmId: vm.id, task };
  };

  /** Records a snapshot of the VM as it is now, on top of its current one. Memory only when it runs. */
  const takeSnapshot = (
    vm: VmRecord,
    name: string,
    description: string,
    includeMemory: boolean,
  ) => {
    const snapshot: SnapshotRecord = {
      id: store.newId("snap"),
      name,
      description,
      includeMemory: includeMemory && vm.powerState === PowerState.ON,
      parentId: vm.currentSnapshotId,
      powerState: vm.powerState,
      createTime: clock.now(),
      config: copyConfig(vm.config),
    };
    vm.snapshots.push(snapshot);
    vm.currentSnapshotId = snapshot.id;
    return snapshot;
  };

  /** Moves a VM to a power state; powering off makes pending changes take effect. */
  const setPower = (vm: VmRecord, state: PowerState) => {
    if (state === PowerState.OFF && vm.pending) {
      vm.config = { ...vm.config, ...vm.pending };
      vm.pending = undefined;
    }
    vm.powerState = state;
  };

  const provider: MockProvider = {
    async validate(_request, ctx) {
      await enter("validate", ctx);
      return { message: `mock provider with ${store.vms.size} VMs` };
    },

    // No faults here: the server reads capabilities once, at start-up.
    getCapabilities() {
      return Promise.resolve({ capabilities });
    },

    async create(request, ctx) {
      await enter("create", ctx);
      const existing = store.byName(request.name);
      if (existing)
        return { vmId: existing.id, ...(existing.taskId ? { task: { id: existing.taskId } } : {}) };
      const image = resolveImage(request.image, "image");
      if (faults.fires("create", "phantom-create")) return { vmId: store.newId("vm") };
      const rootGib = request.rootDiskSizeGib || (image ? imageSizeGib : 0);
      const vm = newVm(request.name, {
        firmware: request.class?.firmware || Firmware.BIOS,
        config: {
          cpu: request.class?.cpu ?? 1,
          memoryMib: request.class?.memoryMib ?? 1024,
          disks: [
            ...(rootGib ? [{ name: "root", sizeGib: rootGib, type: DiskType.THIN }] : []),
            ...request.disks.map((d) => ({
              name: d.name,
              sizeGib: d.sizeGib,
              type: d.type || DiskType.THIN,
            })),
          ],
        },
        nics: request.networks.map((n) => ({
          network: n.network,
          type: n.type || NetworkType.VIRTUAL,
          model: n.model || NicModel.VIRTIO,
          macAddress: n.macAddress.toLowerCase() || newMac(),
          staticAddress: n.staticIp?.address ?? "",
        })),
        tags: [...request.tags],
        labels: { ...request.labels },
        image,
      });
      return finishCreate(vm, "create", request.powerOn, (signal) =>
        verifyFileImage(request.image, "image", signal),
      );
    },

    async delete(request, ctx) {
      await enter("delete", ctx);
      const vm = store.vms.get(request.vmId);
      if (!vm) return {};
      if (vm.phase === "deleting") return { task: { id: vm.taskId } };
      ready(vm.id);
      const clones = linkedClonesOf(vm);
      if (clones.length) {
        throw ProviderError.conflict(
          `vm ${vm.id} has linked clones (${clones.map((c) => c.name).join(", ")}); delete them first`,
        );
      }
      if (faults.fires("delete", "survive-delete")) return {};
      vm.phase = "deleting";
      const task = runTask(
        `delete ${vm.name}`,
        faults.taskFailure("delete"),
        () => store.remove(vm),
        () => {
          vm.phase = "ready";
          vm.taskId = "";
        },
      );
      vm.taskId = task.id;
      return { task };
    },

    async power(request, ctx) {
      await enter("power", ctx);
      const vm = ready(request.vmId);
      // Only a change makes a task, so only a change meets a fail-task fault.
      const change = (target: PowerState, waitMs = 0) => ({
        task: runTask(
          `power ${PowerOperation[request.operation]} ${vm.name}`,
          faults.taskFailure("power"),
          async (signal) => {
            if (waitMs) await clock.sleep(waitMs, signal);
            setPower(vm, target);
          },
        ),
      });
      switch (request.operation) {
        case PowerOperation.ON:
          return vm.powerState === PowerState.ON ? {} : change(PowerState.ON);
        case PowerOperation.OFF:
          return vm.powerState === PowerState.OFF ? {} : change(PowerState.OFF);
        case PowerOperation.REBOOT:
          if (vm.powerState !== PowerState.ON)
            throw ProviderError.conflict(`vm ${vm.id} is not running; power it on instead`);
          return change(PowerState.ON);
        case PowerOperation.SHUTDOWN: {
          if (vm.powerState === PowerState.OFF) return {};
          // A guest that ignores ACPI is powered off hard when the timeout passes.
          const ignored = faults.fires("power", "ignore-acpi");
          const timeoutSeconds = request.gracefulTimeoutSeconds || defaultShutdownTimeoutSeconds;
          return change(PowerState.OFF, ignored ? timeoutSeconds * 1000 : 0);
        }
        case PowerOperation.SUSPEND:
          if (vm.powerState === PowerState.SUSPENDED) return {};
          if (vm.powerState !== PowerState.ON)
            throw ProviderError.conflict(`vm ${vm.id} is not running; only a running VM suspends`);
          return change(PowerState.SUSPENDED);
        default:
          throw ProviderError.invalidSpec(
            "operation",
            `unknown power operation ${request.operation}`,
          );
      }
    },

    async reconfigure(request, ctx) {
      await enter("reconfigure", ctx);
      const vm = ready(request.vmId);
      const current = { ...vm.config, ...vm.pending };
      const disks = current.disks.map((d) => ({ ...d }));
      for (const [i, resize] of request.disks.entries()) {
        const disk = disks.find((d) => d.name === resize.name);
        if (!disk)
          throw ProviderError.invalidSpec(
            `disks[${i}].name`,
            `vm ${vm.id} has no disk named ${JSON.stringify(resize.name)}`,
          );
        if (resize.sizeGib < disk.sizeGib) {
          throw ProviderError.invalidSpec(
            `disks[${i}].size_gib`,
            `cannot shrink ${resize.name} from ${disk.sizeGib} to ${resize.sizeGib} GiB`,
          );
        }
        disk.sizeGib = resize.sizeGib;
      }
      const compute: Partial<MachineConfig> = {
        ...(request.cpu !== undefined && request.cpu !== current.cpu ? { cpu: request.cpu } : {}),
        ...(request.memoryMib !== undefined && request.memoryMib !== current.memoryMib
          ? { memoryMib: request.memoryMib }
          : {}),
      };
      const diskChange = disks.some((d, i) => d.sizeGib !== current.disks[i]?.sizeGib)
        ? { disks }
        : {};
      if (!Object.keys(compute).length && !Object.keys(diskChange).length) return {};
      const running = vm.powerState !== PowerState.OFF;
      const now: Partial<MachineConfig> = {};
      const later: Partial<MachineConfig> = {};
      Object.assign(!running || capabilities.onlineReconfigure ? now : later, compute);
      Object.assign(!running || capabilities.onlineDiskGrow ? now : later, diskChange);
      const powerCycleRequired = Object.keys(later).length > 0;
      const task = runTask(`reconfigure ${vm.name}`, faults.taskFailure("reconfigure"), () => {
        vm.config = { ...vm.config, ...now };
        if (powerCycleRequired) vm.pending = { ...vm.pending, ...later };
      });
      return { task, powerCycleRequired };
    },

    async describe(request, ctx) {
      await enter("describe", ctx);
      const vm = store.vms.get(request.vmId);
      if (!vm) return { exists: false };
      return { exists: true, vm: toVirtualMachine(vm, reportFaults("describe")) };
    },

    async listVMs(request, ctx) {
      await enter("listVMs", ctx);
      const after = pageTokenAfter(request.pageToken);
      const size = request.pageSize || 100;
      const matching = store
        .sorted()
        .filter((vm) => vm.name.startsWith(request.namePrefix) && (!after || vm.name > after));
      const page = matching.slice(0, size);
      const faultsNow = reportFaults("listVMs");
      const last = page.at(-1);
      return {
        vms: page.map((vm) => toVirtualMachine(vm, faultsNow)),
        nextPageToken: matching.length > size && last ? pageTokenOf(last.name) : "",
      };
    },

    async getTask(request, ctx) {
      await enter("getTask", ctx);
      return { task: tasks.get(request.task?.id ?? "") };
    },

    async snapshotCreate(request, ctx) {
      await enter("snapshotCreate", ctx);
      const vm = ready(request.vmId);
      const existing = vm.snapshots.find((s) => s.name === request.name);
      if (existing) {
        const running = snapshotTasks.get(existing.id);
        return { snapshotId: existing.id, ...(running ? { task: { id: running } } : {}) };
      }
      const snapshot = takeSnapshot(vm, request.name, request.description, request.includeMemory);
      const task = runTask(
        `snapshot ${vm.name} as ${request.name}`,
        faults.taskFailure("snapshotCreate"),
        () => {
          snapshotTasks.delete(snapshot.id);
        },
        () => {
          snapshotTasks.delete(snapshot.id);
          vm.snapshots = vm.snapshots.filter((s) => s !== snapshot);
          vm.currentSnapshotId = snapshot.parentId;
        },
      );
      snapshotTasks.set(snapshot.id, task.id);
      return { snapshotId: snapshot.id, task };
    },

    async snapshotRevert(request, ctx) {
      await enter("snapshotRevert", ctx);
      const vm = ready(request.vmId);
      const snapshot = vm.snapshots.find((s) => s.id === request.snapshotId);
      if (!snapshot)
        throw ProviderError.notFound(`vm ${vm.id} has no snapshot ${request.snapshotId}`);
      const task = runTask(
        `revert ${vm.name} to ${snapshot.name}`,
        faults.taskFailure("snapshotRevert"),
        () => {
          vm.config = copyConfig(snapshot.config);
          vm.pending = undefined;
          vm.powerState = snapshot.includeMemory ? snapshot.powerState : PowerState.OFF;
          vm.currentSnapshotId = snapshot.id;
        },
      );
      return { task };
    },

    async snapshotDelete(request, ctx) {
      await enter("snapshotDelete", ctx);
      const vm = ready(request.vmId);
      const snapshot = vm.snapshots.find((s) => s.id === request.snapshotId);
      if (!snapshot) return {};
      const clones = linkedClonesOf(vm, snapshot.id);
      if (clones.length) {
        throw ProviderError.conflict(
          `snapshot ${snapshot.id} backs linked clones (${clones.map((c) => c.name).join(", ")})`,
        );
      }
      const task = runTask(
        `delete snapshot ${snapshot.name} of ${vm.name}`,
        faults.taskFailure("snapshotDelete"),
        () => {
          vm.snapshots = vm.snapshots.filter((s) => s !== snapshot);
          for (const child of vm.snapshots)
            if (child.parentId === snapshot.id) child.parentId = snapshot.parentId;
          if (vm.currentSnapshotId === snapshot.id) vm.currentSnapshotId = snapshot.parentId;
        },
      );
      return { task };
    },

    async snapshotList(request, ctx) {
      await enter("snapshotList", ctx);
      const vm = find(request.vmId);
      return {
        snapshots: vm.snapshots.map((s) => ({
          id: s.id,
          name: s.name,
          description: s.description,
          includeMemory: s.includeMemory,
          parentId: s.parentId,
          powerState: s.powerState,
          createTime: timestampFromMs(s.createTime),
        })),
      };
    },

    async clone(request, ctx) {
      await enter("clone", ctx);
      const source = ready(request.sourceVmId);
      const existing = store.byName(request.name);
      if (existing)
        return { vmId: existing.id, ...(existing.taskId ? { task: { id: existing.taskId } } : {}) };
      let base: SnapshotRecord | undefined;
      if (request.snapshotId) {
        base = source.snapshots.find((s) => s.id === request.snapshotId);
        if (!base)
          throw ProviderError.notFound(`vm ${source.id} has no snapshot ${request.snapshotId}`);
      }
      let undo = () => {};
      if (request.type === CloneType.LINKED && !base) {
        // A linked clone needs a fixed base: take a snapshot of the source now.
        const made = takeSnapshot(
          source,
          `clone-base-${request.name}`,
          `base of linked clone ${request.name}`,
          false,
        );
        base = made;
        undo = () => {
          source.snapshots = source.snapshots.filter((s) => s !== made);
          if (source.currentSnapshotId === made.id) source.currentSnapshotId = made.parentId;
        };
      }
      const vm = newVm(request.name, {
        firmware: source.firmware,
        config: copyConfig(base?.config ?? source.config),
        nics: source.nics.map((n) => ({ ...n, macAddress: newMac(), staticAddress: "" })),
        tags: [...source.tags],
        labels: { ...source.labels },
        image: source.image,
        linkedTo:
          request.type === CloneType.LINKED && base
            ? { vmId: source.id, snapshotId: base.id }
            : undefined,
      });
      return finishCreate(vm, "clone", request.powerOn, undefined, undo);
    },

    async imagePrepare(request, ctx) {
      await enter("imagePrepare", ctx);
      const prepared: MessageInitShape<typeof ImageSourceSchema> = {
        source: { case: "template", value: request.name },
      };
      const source = resolveImage(request.source, "source");
      // A path needs no preparing: it is checked (above) and used where it is.
      if (request.source?.source.case === "path")
        return { image: { source: { case: "path", value: request.source.source.value } } };
      const inFlight = preparing.get(request.name);
      const existing = store.images.get(request.name) ?? inFlight;
      if (existing) {
        if (existing.source !== source) {
          throw ProviderError.conflict(
            `image ${request.name} exists and was prepared from ${existing.source}`,
          );
        }
        return { image: prepared, ...(inFlight ? { task: { id: inFlight.taskId } } : {}) };
      }
      const entry = { name: request.name, source, taskId: "" };
      preparing.set(request.name, entry);
      const task = runTask(
        `prepare image ${request.name}`,
        faults.taskFailure("imagePrepare"),
        async (signal) => {
          await verifyFileImage(request.source, "source", signal);
          preparing.delete(request.name);
          store.images.set(request.name, { name: request.name, source });
        },
        () => preparing.delete(request.name),
      );
      entry.taskId = task.id;
      return { image: prepared, task };
    },

    async close() {
      await tasks.close();
      store.flush();
    },
  };
  return provider;
}
