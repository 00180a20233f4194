import type { VsphereOperation } from "./vsphere-context.js";

/**
 * DiskExportEnd: forgets the export. Nothing was made on the datastore (the
 * export reads the disk's own flat extent), so only its record goes; a
 * checksum still running writes none.
 */
export const diskExportEnd: VsphereOperation<"diskExportEnd"> = async (ctx, request) => {
  ctx.diskTasks.delete(`export/${request.exportId}`);
  await ctx.staging.removeExport(request.exportId);
  return {};
};
