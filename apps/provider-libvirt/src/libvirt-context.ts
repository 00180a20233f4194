import { randomBytes } from "node:crypto";
import {
  type Clock,
  type CreateOnce,
  type KeyedLock,
  type Logger,
  ProviderError,
  type ProviderMethodName,
  type ProviderOperation,
  type TaskRef,
  type TaskTracker,
  createKeyedLock,
  createLogger,
  createOnceByName,
  systemClock,
} from "@virtrigaud/contracts";
import { type TransferArea, createTransferArea } from "./disks/transfer-area.js";
import type { LibvirtHost } from "./host/libvirt-host.js";
import { type DomainView, type Inventory, createInventory } from "./inventory/inventory.js";
import type { LibvirtProviderOptions } from "./libvirt-options.js";
import { type VolumeJournal, createVolumeJournal } from "./orphans/volume-journal.js";
import { type StoragePool, createStoragePool } from "./storage.js";

/**
 * What the provider's operations share: the host, the pool, the inventory,
 * the tasks, settings, and what keeps operations apart (one Create per name,
 * one change at a time per VM).
 */
export interface LibvirtContext {
  host: LibvirtHost;
  pool: StoragePool;
  /** Entries of operations under way that make or remove files in the pool. */
  journal: VolumeJournal;
  /** Staging files and state of disk exports and imports. */
  transfers: TransferArea;
  inventory: Inventory;
  tasks: TaskTracker;
  clock: Clock;
  logger: Logger;
  headroom: number;
  vncListen: string | undefined;
  defaultNetwork: string | undefined;
  defaultShutdownTimeoutSeconds: number;
  /** Creates and clones under way by name, so a repeated call gets the same task. */
  creations: CreateOnce<{ vmId: string; task?: TaskRef }>;
  /** Images being prepared by name, so a repeated call gets the same task. */
  preparations: CreateOnce<{ task?: TaskRef }>;
  /** Work under way per VM (by UUID), so two changes of one VM do not interleave. */
  perVm: KeyedLock;
  /** kvm or qemu, found out once per connection to the host. */
  domainType(signal?: AbortSignal): Promise<"kvm" | "qemu">;
  /**
   * The domain, read now (no addresses).
   *
   * @throws ProviderError NOT_FOUND when there is no such domain.
   */
  find(vmId: string, signal?: AbortSignal): Promise<DomainView>;
  /**
   * The domain, when the provider may change it.
   *
   * @throws ProviderError NOT_FOUND, or PERMISSION_DENIED for a domain it did not create or adopt.
   */
  findManaged(vmId: string, signal?: AbortSignal): Promise<DomainView>;
  /** Runs a command on the host and throws INTERNAL with its error output when it fails. */
  execOk(argv: readonly string[], signal?: AbortSignal): Promise<string>;
  /** A fresh directory under the provider's scratch directory on the host. */
  scratch(signal?: AbortSignal): Promise<string>;
}

/**
 * A provider method as this provider's modules implement it: given the
 * provider's context, the request and the call's signal.
 */
export type LibvirtOperation<M extends ProviderMethodName> = ProviderOperation<LibvirtContext, M>;

/** A MAC address in QEMU's locally administered range. */
export function randomMac(): string {
  const bytes = [...randomBytes(3)].map((b) => b.toString(16).padStart(2, "0"));
  return `52:54:00:${bytes.join(":")}`;
}

/** Builds the shared context from the provider's options. */
export function createLibvirtContext(
  options: LibvirtProviderOptions,
  tasks: TaskTracker,
): LibvirtContext {
  const { host } = options;
  const logger = options.logger ?? createLogger({ level: "silent" });
  const pool = createStoragePool(host, options.storagePool ?? "default", options.createPoolDir);
  const vncListen = "vncListen" in options ? options.vncListen : "127.0.0.1";
  const inventory = createInventory({
    host,
    adopt: new Set(options.adopt ?? []),
    vncListen,
    consoleHost: options.consoleHost ?? "localhost",
    ...(options.clock ? { clock: options.clock } : {}),
    logger,
  });
  let detected: Promise<"kvm" | "qemu"> | undefined;

  const execOk = async (argv: readonly string[], signal?: AbortSignal): Promise<string> => {
    const result = await host.exec(argv, { signal });
    if (result.exitCode !== 0) {
      throw ProviderError.internal(
        `${argv[0]} failed on the host (exit status ${result.exitCode}): ${result.stderr.trim()}`,
      );
    }
    return result.stdout;
  };

  const context: LibvirtContext = {
    host,
    pool,
    journal: createVolumeJournal(host, pool),
    transfers: createTransferArea(host, pool),
    inventory,
    tasks,
    clock: options.clock ?? systemClock,
    logger,
    headroom: Math.max(1, options.headroom ?? 2),
    vncListen,
    defaultNetwork: options.defaultNetwork,
    defaultShutdownTimeoutSeconds: options.defaultShutdownTimeoutSeconds ?? 300,
    creations: createOnceByName(),
    preparations: createOnceByName(),
    perVm: createKeyedLock(),

    domainType(signal) {
      const wanted = options.domainType ?? "auto";
      if (wanted !== "auto") return Promise.resolve(wanted);
      detected ??= (async () => {
        // libvirt offers kvm whenever /dev/kvm exists, even where the CPU
        // cannot run it (nested hosts without vmx/svm): check both.
        const [cpu, caps] = await Promise.all([
          host.exec(["grep", "-cwE", "vmx|svm", "/proc/cpuinfo"], { signal, idempotent: true }),
          host.virsh([["domcapabilities", { virttype: "kvm" }]], { signal, idempotent: true }),
        ]);
        const kvm = Number(cpu.stdout.trim()) > 0 && caps[0]?.error === undefined;
        logger.info({ domainType: kvm ? "kvm" : "qemu" }, "domain type chosen");
        return kvm ? ("kvm" as const) : ("qemu" as const);
      })().catch((err: unknown) => {
        detected = undefined;
        throw err;
      });
      return detected;
    },

    async find(vmId, signal) {
      const [view] = await inventory.read([vmId], signal, false);
      if (!view) throw ProviderError.notFound(`vm ${vmId} does not exist`);
      return view;
    },

    async findManaged(vmId, signal) {
      const view = await context.find(vmId, signal);
      if (view.management === "unmanaged") {
        throw ProviderError.permissionDenied(
          `domain ${view.info.name} was not created by VirtRigaud; adopt it (--adopt) to manage it`,
        );
      }
      return view;
    },

    execOk,

    async scratch(signal) {
      const base = await host.scratchDir(signal);
      const dir = `${base}/${randomBytes(8).toString("hex")}`;
      await execOk(["mkdir", "-m", "700", dir], signal);
      return dir;
    },
  };
  return context;
}
