import { operationBinder } from "@virtrigaud/contracts";
import { vsphereCapabilities } from "./capabilities.js";
import { cloneVm } from "./clone-vm.js";
import { createVm } from "./create-vm.js";
import { deleteVm } from "./delete-vm.js";
import { describeDisks } from "./describe-disks.js";
import { describe } from "./describe-vm.js";
import { diskExportBegin } from "./disk-export-begin.js";
import { diskExportEnd } from "./disk-export-end.js";
import { diskExportRead } from "./disk-export-read.js";
import { diskImportAbort } from "./disk-import-abort.js";
import { diskImportBegin } from "./disk-import-begin.js";
import { diskImportCommit } from "./disk-import-commit.js";
import { diskImportWrite } from "./disk-import-write.js";
import { getTask } from "./get-task.js";
import { imagePrepare } from "./image-prepare.js";
import { listVms } from "./list-vms.js";
import { power } from "./power.js";
import { reconfigure } from "./reconfigure.js";
import { snapshotCreate, snapshotDelete, snapshotList, snapshotRevert } from "./snapshots.js";
import { validateConnection } from "./validate-connection.js";
import { createVsphereContext } from "./vsphere-context.js";
import type { VsphereProvider, VsphereProviderOptions } from "./vsphere-provider-options.js";

export type { VsphereProvider, VsphereProviderOptions } from "./vsphere-provider-options.js";

/**
 * Creates the vSphere provider. VMs are known by their instance UUID, which
 * the provider chooses at Create, so Create answers at once with the VM's id.
 * Operations that are one vSphere task answer with that task's id
 * ("task-123"); GetTask reads it from vCenter. Operations that need several
 * vSphere tasks in a row (a Create that also powers on, a SHUTDOWN that
 * falls back to a hard power-off, a linked clone that takes its snapshot
 * first) run as one provider task ("vrtg-<uuid>") whose steps wait on their
 * vSphere tasks by property updates. Disks move as RAW through the datastore
 * file service: exports read a flat extent, imports stage their chunks in a
 * local directory and store a monolithicFlat VMDK at commit.
 */
export function createVsphereProvider(options: VsphereProviderOptions): VsphereProvider {
  const ctx = createVsphereContext(options);
  const { credentials } = options;
  const capabilities = vsphereCapabilities(ctx.hotAdd);
  /** The provider method of an operation: the call's signal goes on to vCenter. */
  const method = operationBinder(ctx);
  return {
    validate: method(validateConnection),
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
    ...(credentials
      ? {
          setCredentials: (request) => {
            // New credentials: the next call logs in with them.
            if (credentials.set(request.data)) ctx.client.dropSession();
            return Promise.resolve({});
          },
        }
      : {}),
    async close() {
      await ctx.tasks.close();
      // Imports resume where they were, not at their last checkpoint.
      await ctx.staging.flushImports();
      await ctx.client.close();
    },
  };
}
