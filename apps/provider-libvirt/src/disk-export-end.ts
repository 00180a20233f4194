import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * DiskExportEnd: stops a conversion under way, then removes the staging file
 * and its record. An export that does not exist is ended already.
 */
export const diskExportEnd: LibvirtOperation<"diskExportEnd"> = async (ctx, request, signal) => {
  const id = request.exportId;
  const running = ctx.transfers.converting.get(id);
  if (running) {
    running.abort.abort(new Error("the export was ended"));
    await running.settled;
  }
  ctx.transfers.ready.delete(id);
  await ctx.transfers.remove("export", id, signal);
  return {};
};
