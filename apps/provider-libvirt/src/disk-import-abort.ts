import { loadImport, poolNamed } from "./disks/imports.js";
import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * DiskImportAbort: removes the staging file and the record, and the volume
 * of a committed import that no VM adopted. A disk a VM adopted is the VM's:
 * only the record goes. An import that does not exist is aborted already.
 */
export const diskImportAbort: LibvirtOperation<"diskImportAbort"> = async (
  ctx,
  request,
  signal,
) => {
  const id = request.importId;
  const state = await loadImport(ctx, id, signal);
  ctx.transfers.imports.delete(id);
  const record = state?.record;
  if (record?.committed && !record.adoptedBy && record.volume) {
    await ctx.execOk(["rm", "-f", "--", record.volume], signal);
    await poolNamed(ctx, record.pool).refresh(signal);
  }
  await ctx.transfers.remove("import", id, signal);
  return {};
};
