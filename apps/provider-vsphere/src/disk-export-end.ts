import type { VsphereOperation } from "./vsphere-context.js";

/**
 * DiskExportEnd: forgets the export. Nothing was made on the datastore (the
 * export reads the disk's own flat extent), so only its record goes.
 */
export const diskExportEnd: VsphereOperation<"diskExportEnd"> = async (ctx, request) => {
  await ctx.staging.removeExport(request.exportId);
  return {};
};
