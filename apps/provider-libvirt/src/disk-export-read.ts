import { ProviderError, chunkOf } from "@virtrigaud/contracts";
import { readyExport } from "./disk-export-begin.js";
import { holdsData } from "./disks/data-extents.js";
import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * DiskExportRead: one positional read of the staging file through a handle
 * kept open on the SFTP channel (no shell per chunk); a range of zeros comes
 * back as zero_length, and a range in a hole of the file is not read at all.
 *
 * @throws ProviderError NOT_FOUND for an unknown export; RETRYABLE while it
 * is being made; INVALID_SPEC for an offset past its end.
 */
export const diskExportRead: LibvirtOperation<"diskExportRead"> = async (ctx, request, signal) => {
  const record = await readyExport(ctx, request.exportId, signal);
  const offset = Number(request.offset);
  if (offset > record.sizeBytes) {
    throw ProviderError.invalidSpec(
      "offset",
      `is past the export's end (${record.sizeBytes} bytes)`,
    );
  }
  const length = Math.min(request.length, record.sizeBytes - offset);
  if (length === 0) return { chunk: chunkOf(offset, Buffer.alloc(0)) };
  // A range in a hole of the staging file is zeros: no read at all.
  if (!holdsData(record.dataExtents, offset, offset + length)) {
    return { chunk: chunkOf(offset, Buffer.alloc(length)) };
  }
  const files = await ctx.transfers.files("export", record.id, signal);
  const file = await ctx.transfers.openFile(files.data, "r", signal);
  const data = await file.read(offset, length).catch(async (err: unknown) => {
    await ctx.transfers.closeFile(files.data);
    throw err;
  });
  if (data.length !== length) {
    throw ProviderError.internal(
      `the staging file of export ${JSON.stringify(record.id)} is shorter than recorded`,
    );
  }
  return { chunk: chunkOf(offset, data) };
};
