import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import {
  type Capabilities,
  CapabilitiesSchema,
  ErrorReason,
  CloneType,
  DiskType,
  Firmware,
  ImageSourceKind,
  NetworkType,
  PowerOperation,
  PowerState,
  type Provider,
  ProviderError,
  type TaskRef,
  createKeyedLock,
  createOnceByName,
  createTaskTracker,
  pageTokenAfter,
  pageTokenOf,
} from "@virtrigaud/contracts";
import { cloneDomain } from "./clone-vm.js";
import { carryOutCreate, planCreate } from "./create-vm.js";
import { backingChain, findImage, importImage, templateVolumeNames } from "./images.js";
import { type DomainView, diskName, powerStateOf } from "./inventory/inventory.js";
import type { LibvirtProviderOptions } from "./libvirt-options.js";
import { type OrphanCollector, startOrphanCollector } from "./orphans/collect-orphans.js";
import { type ProviderContext, createProviderContext } from "./provider-context.js";
import { checkCreateRequest, checkImageSource, checkSnapshotRequest } from "./request-checks.js";
import {
  checkSnapshotable,
  listSnapshots,
  revertSnapshot,
  takeSnapshot,
  toSnapshot,
} from "./snapshots.js";
import { gib, toGib } from "./storage.js";
import { type OwnerRecord, metadataNamespace, metadataPrefix } from "./xml/domain-spec.js";
import { renderOwnerXml } from "./xml/domain-xml.js";
import { parseDomainXml } from "./xml/parse-domain.js";

/** The provider, plus `close` to stop its tasks and the connection to the host. */
export type LibvirtProvider = Provider & { close(): Promise<void> };

/** What the provider declares: everything it implements and tests. */
export function libvirtCapabilities(console: boolean): Capabilities {
  return create(CapabilitiesSchema, {
    providerType: "libvirt",
    providerVersion: "0.1.0",
    onlineReconfigure: true,
    onlineDiskGrow: true,
    snapshots: true,
    memorySnapshots: true,
    linkedClones: true,
    fullClones: true,
    imagePrepare: true,
    suspend: true,
    console,
    diskTypes: [DiskType.THIN, DiskType.THICK],
    networkTypes: [NetworkType.VIRTUAL, NetworkType.BRIDGE],
    firmwareTypes: [Firmware.BIOS, Firmware.UEFI],
    imageSources: [ImageSourceKind.TEMPLATE, ImageSourceKind.PATH, ImageSourceKind.URL],
  });
}

/**
 * Creates the libvirt provider. It reaches libvirt through `options.host`
 * (virsh over one SSH connection, or locally), builds domain XML from the
 * typed request, keeps disks in a storage pool, and marks what it creates in
 * each domain's metadata; it changes no domain it did not create or adopt.
 */
export function createLibvirtProvider(options: LibvirtProviderOptions): LibvirtProvider {
  const logger = options.logger;
  const tasks = createTaskTracker({
    ...(options.clock ? { clock: options.clock } : {}),
    idPrefix: "libvirt",
    onInternalError: (taskId, error) =>
      logger?.error({ taskId, err: error.cause ?? error }, "task failed"),
  });
  const ctx: ProviderContext = createProviderContext(options, tasks);
  const { host } = ctx;
  const collector: OrphanCollector | undefined =
    options.orphans === false
      ? undefined
      : startOrphanCollector(ctx, {
          graceMs: options.orphans?.graceMs ?? 15 * 60_000,
          ...(options.orphans?.intervalMs ? { intervalMs: options.orphans.intervalMs } : {}),
          ...(options.meter ? { meter: options.meter } : {}),
          logger: ctx.logger,
        });
  const capabilities = libvirtCapabilities(ctx.vncListen !== undefined);

  /** Creates and clones under way by name, so a repeated call gets the same task. */
  const creations = createOnceByName<{ vmId: string; task?: TaskRef }>();
  /** Work under way per VM, so two changes of one VM do not interleave. */
  const perVm = createKeyedLock();
  /** Images being prepared by name, so a repeated call gets the same task. */
  const preparations = createOnceByName<{ task?: TaskRef }>();

  /** Holds the VM for `what`, or RETRYABLE while another operation holds it. */
  const exclusive = (uuid: string, what: string) => {
    const release = perVm.tryAcquire(uuid, what);
    if (!release) {
      throw ProviderError.retryable(`vm ${uuid} is busy: ${perVm.holder(uuid) ?? ""}`, {
        retryAfterMs: 500,
      });
    }
    return release;
  };

  /** Runs `work` as a task while holding the VM. */
  const vmTask = (view: DomainView, what: string, work: (signal: AbortSignal) => Promise<void>) => {
    const release = exclusive(view.info.uuid, what);
    try {
      return tasks.start(`${what} ${view.info.name}`, async ({ signal }) => {
        try {
          await work(signal);
        } finally {
          release();
        }
      });
    } catch (err) {
      release();
      throw err;
    }
  };

  const domainByName = async (name: string, signal: AbortSignal) => {
    const refs = await ctx.inventory.list(signal);
    return refs.find((r) => r.name === name);
  };

  const waitForState = async (
    uuid: string,
    done: (state: number) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<boolean> => {
    const until = ctx.clock.now() + timeoutMs;
    for (;;) {
      const view = await ctx.find(uuid, signal);
      if (done(view.stats?.state ?? 0)) return true;
      if (ctx.clock.now() >= until) return false;
      await ctx.clock.sleep(Math.min(500, Math.max(1, until - ctx.clock.now())), signal);
    }
  };

  const provider: LibvirtProvider = {
    async validate(_request, context) {
      const [version] = await host.virshOk([["version", {}]], {
        signal: context.signal,
        idempotent: true,
      });
      const path = await ctx.pool.path(context.signal);
      const daemon = /Running hypervisor:\s*(.+)/.exec(version ?? "")?.[1] ?? "libvirt";
      const type = await ctx.domainType(context.signal);
      return {
        message: `${daemon.trim()} via ${host.description}; pool ${ctx.pool.name} at ${path}; ${type} domains`,
      };
    },

    getCapabilities() {
      return Promise.resolve({ capabilities });
    },

    async create(request, context) {
      checkCreateRequest(request);
      return creations.run(
        request.name,
        async (keep) => {
          const existing = await domainByName(request.name, context.signal);
          if (existing) {
            // Idempotent by name, for the provider's own domains only.
            await ctx.findManaged(existing.uuid, context.signal).catch((err: unknown) => {
              throw ProviderError.is(err, ErrorReason.PERMISSION_DENIED)
                ? ProviderError.conflict(
                    `a domain named ${request.name} exists that VirtRigaud did not create; adopt it (--adopt) or choose another name`,
                  )
                : err;
            });
            return { vmId: existing.uuid };
          }
          const plan = await planCreate(ctx, request, context.signal);
          const vmId = plan.spec.uuid;
          const release = keep();
          const task = tasks.start(`create ${request.name}`, async ({ signal }) => {
            try {
              await carryOutCreate(ctx, plan, request.powerOn, signal);
            } finally {
              release();
            }
          });
          return { vmId, task };
        },
        context.signal,
      );
    },

    async delete(request, context) {
      let view: DomainView;
      try {
        view = await ctx.findManaged(request.vmId, context.signal);
      } catch (err) {
        if (ProviderError.is(err, ErrorReason.NOT_FOUND)) return {};
        throw err;
      }
      // A linked clone's disks sit on this VM's frozen images.
      const refs = await ctx.inventory.list(context.signal);
      const others = await ctx.inventory.read(
        refs.filter((r) => r.uuid !== view.info.uuid).map((r) => r.uuid),
        context.signal,
        false,
      );
      const clones = others.filter((o) => o.info.owner?.linkedTo === view.info.uuid);
      if (clones.length) {
        throw ProviderError.conflict(
          `vm ${view.info.name} backs linked clones (${clones.map((c) => c.info.name).join(", ")}); delete them first`,
        );
      }
      const poolPath = await ctx.pool.path(context.signal);
      const task = vmTask(view, "delete", async (signal) => {
        const uuid = view.info.uuid;
        // Only files of this VM in the pool: its disks, seed, and frozen images below them.
        const prefix = `${poolPath}/${view.info.name}-`;
        const disks = view.info.disks.filter((d) => d.path.startsWith(prefix));
        const chains = await Promise.all(
          disks.filter((d) => d.device === "disk").map((d) => backingChain(ctx, d.path, signal)),
        );
        const files = [
          ...new Set(
            [...disks.map((d) => d.path), ...chains.flat()].filter(
              (p) => p.startsWith(prefix) && !p.slice(prefix.length).includes("/"),
            ),
          ),
        ];
        // Named before the domain goes: a delete cut short between the two is finished by the collector.
        const record = await ctx.journal.record(
          { operation: "delete", vm: view.info.name, uuid, files },
          signal,
        );
        try {
          if (powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF) {
            await host.virsh([["destroy", { domain: uuid }]], { signal });
          }
          const [undefine] = await host.virsh(
            [
              [
                "undefine",
                { domain: uuid, "snapshots-metadata": true, "managed-save": true, nvram: true },
              ],
            ],
            { signal },
          );
          if (undefine?.error && !/failed to get domain|not found/i.test(undefine.error)) {
            throw ProviderError.internal(`undefine ${view.info.name} failed: ${undefine.error}`);
          }
          if (files.length) await ctx.execOk(["rm", "-f", "--", ...files], signal);
          await ctx.pool.refresh(signal);
          await record.done();
        } catch (err) {
          // The collector finishes it: removes the files once the domain is gone, or the entry while it is there.
          record.leave();
          throw err;
        }
      });
      return { task };
    },

    async power(request, context) {
      const view = await ctx.findManaged(request.vmId, context.signal);
      const uuid = view.info.uuid;
      const state = view.stats?.state ?? 0;
      const power = powerStateOf(state);
      const run = (what: string, work: (signal: AbortSignal) => Promise<void>) => ({
        task: vmTask(view, what, work),
      });
      const virshStep =
        (command: string, extra: Record<string, string | boolean> = {}) =>
        (signal: AbortSignal) =>
          host.virshOk([[command, { domain: uuid, ...extra }]], { signal }).then(() => undefined);
      switch (request.operation) {
        case PowerOperation.ON:
          if (power === PowerState.ON) return {};
          if (state === 3) return run("resume", virshStep("resume"));
          if (state === 7) return run("wake", virshStep("dompmwakeup"));
          return run("start", virshStep("start"));
        case PowerOperation.OFF:
          if (power === PowerState.OFF) return {};
          return run("power off", virshStep("destroy"));
        case PowerOperation.REBOOT:
          if (power !== PowerState.ON) {
            throw ProviderError.conflict(
              `vm ${view.info.name} is not running; power it on instead`,
            );
          }
          // ACPI: the guest reboots itself; never a destroy and start.
          return run("reboot", virshStep("reboot", { mode: "acpi" }));
        case PowerOperation.SHUTDOWN: {
          if (power === PowerState.OFF) return {};
          const timeoutSeconds =
            request.gracefulTimeoutSeconds || ctx.defaultShutdownTimeoutSeconds;
          return run("shutdown", async (signal) => {
            if (state === 3) await virshStep("resume")(signal);
            await host.virsh([["shutdown", { domain: uuid, mode: "acpi" }]], { signal });
            const off = await waitForState(
              uuid,
              (s) => powerStateOf(s) === PowerState.OFF,
              timeoutSeconds * 1000,
              signal,
            );
            if (!off) {
              ctx.logger.info(
                { vm: view.info.name, timeoutSeconds },
                "guest ignored ACPI shutdown; powering off",
              );
              const [destroy] = await host.virsh([["destroy", { domain: uuid }]], { signal });
              if (destroy?.error && !/not running/.test(destroy.error)) {
                throw ProviderError.internal(
                  `power off ${view.info.name} failed: ${destroy.error}`,
                );
              }
            }
          });
        }
        case PowerOperation.SUSPEND:
          if (power === PowerState.SUSPENDED) return {};
          if (power !== PowerState.ON) {
            throw ProviderError.conflict(
              `vm ${view.info.name} is not running; only a running VM suspends`,
            );
          }
          return run("suspend", virshStep("suspend"));
        default:
          throw ProviderError.invalidSpec(
            "operation",
            `unknown power operation ${request.operation}`,
          );
      }
    },

    async reconfigure(request, context) {
      const view = await ctx.findManaged(request.vmId, context.signal);
      const { info } = view;
      const uuid = info.uuid;
      const running = powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF;
      // Targets, not increments: compare with the persistent definition.
      const [inactiveXml] = await host.virshOk([["dumpxml", { domain: uuid, inactive: true }]], {
        signal: context.signal,
        idempotent: true,
      });
      const persistent = parseDomainXml(inactiveXml ?? "");
      const grows: Array<{ target: string; path: string; sizeGib: number }> = [];
      for (const [i, resize] of request.disks.entries()) {
        const disk = info.disks.find(
          (d) => d.device === "disk" && diskName(info, d.target) === resize.name,
        );
        if (!disk) {
          throw ProviderError.invalidSpec(
            `disks[${i}].name`,
            `vm ${info.name} has no disk named ${JSON.stringify(resize.name)}`,
          );
        }
        const current = toGib(view.stats?.blocks[disk.target]?.capacityBytes ?? 0);
        if (resize.sizeGib < current) {
          throw ProviderError.invalidSpec(
            `disks[${i}].size_gib`,
            `cannot shrink ${resize.name} from ${current} to ${resize.sizeGib} GiB`,
          );
        }
        if (resize.sizeGib > current)
          grows.push({ target: disk.target, path: disk.path, sizeGib: resize.sizeGib });
      }
      const cpu =
        request.cpu !== undefined && request.cpu !== persistent.vcpus ? request.cpu : undefined;
      const memoryMib =
        request.memoryMib !== undefined && request.memoryMib !== persistent.memoryMib
          ? request.memoryMib
          : undefined;
      const liveCpu =
        running && request.cpu !== undefined && request.cpu !== info.vcpus
          ? request.cpu
          : undefined;
      const liveMemory =
        running && request.memoryMib !== undefined && request.memoryMib !== info.memoryMib
          ? request.memoryMib
          : undefined;
      if (
        cpu === undefined &&
        memoryMib === undefined &&
        liveCpu === undefined &&
        liveMemory === undefined &&
        !grows.length
      ) {
        return {};
      }
      // Live only within the headroom defined at create; beyond it, the next boot.
      const cpuLive = liveCpu === undefined || liveCpu <= info.maxVcpus;
      const memoryLive = liveMemory === undefined || liveMemory <= info.maxMemoryMib;
      const powerCycleRequired = running && (!cpuLive || !memoryLive);
      const task = vmTask(view, "reconfigure", async (signal) => {
        const commands: Array<[string, Record<string, string | number | boolean>]> = [];
        const newCpu = cpu ?? liveCpu;
        if (newCpu !== undefined) {
          const max = Math.max(
            newCpu,
            persistent.maxVcpus,
            Math.min(1024, Math.floor(newCpu * ctx.headroom)),
          );
          if (max !== persistent.maxVcpus)
            commands.push(["setvcpus", { domain: uuid, count: max, maximum: true, config: true }]);
          commands.push(["setvcpus", { domain: uuid, count: newCpu, config: true }]);
          if (running && cpuLive)
            commands.push(["setvcpus", { domain: uuid, count: newCpu, live: true }]);
        }
        const newMemory = memoryMib ?? liveMemory;
        if (newMemory !== undefined) {
          const max = Math.max(
            newMemory,
            Math.min(16777216, Math.floor(newMemory * ctx.headroom)),
            running ? info.maxMemoryMib : 0,
          );
          if (max !== persistent.maxMemoryMib)
            commands.push(["setmaxmem", { domain: uuid, size: `${max}M`, config: true }]);
          commands.push(["setmem", { domain: uuid, size: `${newMemory}M`, config: true }]);
          if (running && memoryLive)
            commands.push(["setmem", { domain: uuid, size: `${newMemory}M`, live: true }]);
          // The target the provider reports (see OwnerRecord.memoryMib).
          const setOwner = (owner: OwnerRecord | undefined, scope: "config" | "live") => {
            if (!owner) return;
            commands.push([
              "metadata",
              {
                domain: uuid,
                uri: metadataNamespace,
                key: metadataPrefix,
                set: renderOwnerXml({ ...owner, memoryMib: newMemory }),
                [scope]: true,
              },
            ]);
          };
          setOwner(persistent.owner, "config");
          if (running && memoryLive) setOwner(info.owner, "live");
        }
        for (const grow of grows) {
          commands.push(
            running
              ? ["blockresize", { domain: uuid, path: grow.target, size: gib(grow.sizeGib) }]
              : ["vol-resize", { vol: grow.path, capacity: gib(grow.sizeGib) }],
          );
        }
        for (const command of commands) {
          await host.virshOk([command], { signal });
        }
      });
      return { task, powerCycleRequired };
    },

    async describe(request, context) {
      const [view] = await ctx.inventory.read([request.vmId], context.signal, true);
      // A domain made elsewhere and not adopted is not the provider's, as in ListVMs.
      if (!view || view.management === "unmanaged") return { exists: false };
      return { exists: true, vm: ctx.inventory.toVirtualMachine(view) };
    },

    async listVMs(request, context) {
      const after = pageTokenAfter(request.pageToken);
      const size = request.pageSize || 100;
      const refs = (await ctx.inventory.list(context.signal))
        .filter((r) => r.name.startsWith(request.namePrefix) && r.name > after)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      // Every match is read (one round trip): which are managed shows only in their definitions.
      const views = (
        await ctx.inventory.read(
          refs.map((r) => r.uuid),
          context.signal,
          false,
        )
      ).filter((v) => v.management !== "unmanaged");
      const page = views.slice(0, size);
      await ctx.inventory.findAddresses(page, context.signal);
      const last = page.at(-1);
      return {
        vms: page.map((v) => ctx.inventory.toVirtualMachine(v)),
        nextPageToken: views.length > size && last ? pageTokenOf(last.info.name) : "",
      };
    },

    getTask(request) {
      return Promise.resolve({ task: tasks.get(request.task?.id ?? "") });
    },

    async snapshotCreate(request, context) {
      checkSnapshotRequest(request);
      const view = await ctx.findManaged(request.vmId, context.signal);
      const existing = await listSnapshots(ctx, view.info.uuid, context.signal);
      if (existing.some((s) => s.name === request.name)) return { snapshotId: request.name };
      // Refused by the call, not by its task: nothing is started.
      checkSnapshotable(view);
      const task = vmTask(view, `snapshot ${request.name} of`, (signal) =>
        takeSnapshot(
          ctx,
          view,
          request.name,
          request.description,
          request.includeMemory,
          request.quiesce,
          signal,
        ),
      );
      return { snapshotId: request.name, task };
    },

    async snapshotDelete(request, context) {
      const view = await ctx.findManaged(request.vmId, context.signal);
      const existing = await listSnapshots(ctx, view.info.uuid, context.signal);
      if (!existing.some((s) => s.name === request.snapshotId)) return {};
      const task = vmTask(view, `delete snapshot ${request.snapshotId} of`, async (signal) => {
        const [outcome] = await host.virsh(
          [["snapshot-delete", { domain: view.info.uuid, snapshotname: request.snapshotId }]],
          { signal },
        );
        if (outcome?.error && !/not found|no domain snapshot/i.test(outcome.error)) {
          throw ProviderError.internal(
            `delete snapshot ${request.snapshotId} failed: ${outcome.error}`,
          );
        }
      });
      return { task };
    },

    async snapshotRevert(request, context) {
      const view = await ctx.findManaged(request.vmId, context.signal);
      const snapshot = (await listSnapshots(ctx, view.info.uuid, context.signal)).find(
        (s) => s.name === request.snapshotId,
      );
      if (!snapshot)
        throw ProviderError.notFound(`vm ${view.info.name} has no snapshot ${request.snapshotId}`);
      const task = vmTask(view, `revert to ${snapshot.name}`, (signal) =>
        revertSnapshot(ctx, view, snapshot, signal),
      );
      return { task };
    },

    async snapshotList(request, context) {
      const view = await ctx.find(request.vmId, context.signal);
      const snapshots = await listSnapshots(ctx, view.info.uuid, context.signal);
      return { snapshots: snapshots.map(toSnapshot) };
    },

    async clone(request, context) {
      return creations.run(
        request.name,
        async (keep) => {
          const source = await ctx.findManaged(request.sourceVmId, context.signal);
          const existing = await domainByName(request.name, context.signal);
          if (existing) return { vmId: existing.uuid };
          if (request.snapshotId) {
            const snapshots = await listSnapshots(ctx, source.info.uuid, context.signal);
            if (!snapshots.some((s) => s.name === request.snapshotId)) {
              throw ProviderError.notFound(
                `vm ${source.info.name} has no snapshot ${request.snapshotId}`,
              );
            }
          }
          const type = request.type === CloneType.LINKED ? CloneType.LINKED : CloneType.FULL;
          const releaseSource = exclusive(source.info.uuid, `clone to ${request.name}`);
          const release = keep();
          const vmId = randomUUID();
          const task = tasks.start(
            `clone ${source.info.name} to ${request.name}`,
            async ({ signal }) => {
              try {
                await cloneDomain(
                  ctx,
                  source,
                  request.name,
                  vmId,
                  type,
                  request.snapshotId,
                  request.powerOn,
                  signal,
                );
              } finally {
                releaseSource();
                release();
              }
            },
          );
          return { vmId, task };
        },
        context.signal,
      );
    },

    async imagePrepare(request, context) {
      if (request.source) checkImageSource("source", request.source);
      if (request.source?.source.case === "path") {
        // A file on the host needs no copy: it is checked, and used where it is.
        await findImage(ctx, request.source, "source", context.signal);
        return { image: { source: { case: "path", value: request.source.source.value } } };
      }
      const prepared = { source: { case: "template" as const, value: request.name } };
      const { task } = await preparations.run(
        request.name,
        async (keep) => {
          const volumes = new Set(await ctx.pool.volumes(context.signal));
          if (
            templateVolumeNames(request.name)
              .slice(0, 2)
              .some((n) => volumes.has(n))
          ) {
            return {};
          }
          const source = request.source;
          if (!source) throw ProviderError.invalidSpec("source", "is required");
          if (source.source.case === "template") {
            // Checked now, so an unknown template fails the call rather than the task.
            await findImage(ctx, source, "source", context.signal);
          }
          const release = keep();
          return {
            task: tasks.start(`prepare image ${request.name}`, async ({ signal }) => {
              try {
                await importImage(ctx, request.name, source, "source", signal);
              } finally {
                release();
              }
            }),
          };
        },
        context.signal,
      );
      return { image: prepared, ...(task ? { task } : {}) };
    },

    async close() {
      await collector?.stop();
      await tasks.close();
      await host.close();
    },
  };

  return provider;
}
