import { ProviderError } from "@virtrigaud/contracts";
import { datastorePath, deleteDatastoreFile, waitForTask } from "@virtrigaud/vsphere-sdk";
import type { ImportRecord } from "./disk-staging.js";
import type { VsphereContext, VsphereOperation } from "./vsphere-context.js";

/**
 * Deletes an import's directory on the datastore (its disk), when it is there.
 *
 * @throws ProviderError for a failure of vCenter other than the directory being gone.
 */
export async function removeImportedDisk(
  ctx: VsphereContext,
  record: ImportRecord,
  signal: AbortSignal,
): Promise<void> {
  const { client } = ctx;
  const dc = await ctx.call(signal, () => ctx.finder.datacenter({ signal }));
  const name = datastorePath({ datastore: record.datastore, path: record.directory });
  try {
    await ctx.call(signal, async () =>
      waitForTask(client, await deleteDatastoreFile(client, dc.ref, name, { signal }), { signal }),
    );
  } catch (err) {
    const cause = ProviderError.is(err) ? err.cause : err;
    if ((cause as { faultType?: string } | undefined)?.faultType !== "FileNotFound") throw err;
  }
}

/**
 * DiskImportAbort: removes an import, its staging file and (once committed)
 * its disk on the datastore. A disk a VM adopted belongs to the VM and stays;
 * an import that is not there is aborted already.
 */
export const diskImportAbort: VsphereOperation<"diskImportAbort"> = (ctx, request, signal) =>
  ctx.perVm.run(
    `import/${request.importId}`,
    async () => {
      const record = await ctx.staging.readImport(request.importId);
      if (!record || record.adoptedBy) return {};
      if (record.committed) await removeImportedDisk(ctx, record, signal);
      await ctx.staging.removeImport(request.importId);
      return {};
    },
    signal,
  );
