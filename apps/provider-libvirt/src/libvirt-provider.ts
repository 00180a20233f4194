import { type Provider, createTaskTracker, operationBinder } from "@virtrigaud/contracts";
import { libvirtCapabilities } from "./capabilities.js";
import { cloneVm } from "./clone-vm.js";
import { createVm } from "./create-vm.js";
import { deleteVm } from "./delete-vm.js";
import { describeDisks } from "./describe-disks.js";
import { describe } from "./describe-vm.js";
import { diskExportBegin } from "./disk-export-begin.js";
import { diskExportEnd } from "./disk-export-end.js";
import { diskExportRead } from "./disk-export-read.js";
import { diskImportAbort } from "./disk-import-abort.js";
import { openConsole } from "./open-console.js";
import { diskImportBegin } from "./disk-import-begin.js";
import { diskImportCommit } from "./disk-import-commit.js";
import { diskImportWrite } from "./disk-import-write.js";
import { getTask } from "./get-task.js";
import { imagePrepare } from "./image-prepare.js";
import { createLibvirtContext } from "./libvirt-context.js";
import type { LibvirtProviderOptions } from "./libvirt-options.js";
import { listVms } from "./list-vms.js";
import { type OrphanCollector, startOrphanCollector } from "./orphans/collect-orphans.js";
import { power } from "./power.js";
import { reconfigure } from "./reconfigure.js";
import {
  snapshotCreate,
  snapshotDelete,
  snapshotList,
  snapshotRevert,
} from "./snapshot-operations.js";
import { validateHost } from "./validate-host.js";

export { libvirtCapabilities } from "./capabilities.js";

/** The provider, plus `close` to stop its tasks and the connection to the host. */
export type LibvirtProvider = Provider & { close(): Promise<void> };

/**
 * Creates the libvirt provider. It reaches libvirt through `options.host`
 * (virsh over one SSH connection, or locally), builds domain XML from the
 * typed request, keeps disks in a storage pool, and marks what it creates in
 * each domain's metadata; it changes no domain it did not create or adopt.
 * A table of operations, one file each; Create and Clone are once per name,
 * and changes of one VM one at a time (RETRYABLE while another runs).
 */
export function createLibvirtProvider(options: LibvirtProviderOptions): LibvirtProvider {
  const logger = options.logger;
  const tasks = createTaskTracker({
    ...(options.clock ? { clock: options.clock } : {}),
    idPrefix: "libvirt",
    onInternalError: (taskId, error) =>
      logger?.error({ taskId, err: error.cause ?? error }, "task failed"),
  });
  const ctx = createLibvirtContext(options, tasks);
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
  /** The provider method of an operation: the call's signal goes on to the host. */
  const method = operationBinder(ctx);

  return {
    validate: method(validateHost),
    getCapabilities: () => Promise.resolve({ capabilities }),
    create: method(createVm),
    delete: method(deleteVm),
    power: method(power),
    reconfigure: method(reconfigure),
    describe: method(describe),
    listVMs: method(listVms),
    getTask: method(getTask),
    snapshotCreate: method(snapshotCreate),
    snapshotRevert: method(snapshotRevert),
    snapshotDelete: method(snapshotDelete),
    snapshotList: method(snapshotList),
    clone: method(cloneVm),
    imagePrepare: method(imagePrepare),
    describeDisks: method(describeDisks),
    diskExportBegin: method(diskExportBegin),
    diskExportRead: method(diskExportRead),
    diskExportEnd: method(diskExportEnd),
    diskImportBegin: method(diskImportBegin),
    diskImportWrite: method(diskImportWrite),
    diskImportCommit: method(diskImportCommit),
    diskImportAbort: method(diskImportAbort),
    console: openConsole(ctx),
    async close() {
      await collector?.stop();
      await tasks.close();
      ctx.inventory.close();
      await ctx.host.close();
    },
  };
}
