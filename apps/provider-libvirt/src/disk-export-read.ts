import { ProviderError } from "@virtrigaud/contracts";
import { readyExport } from "./disk-export-begin.js";
import { chunkOf } from "./disks/chunks.js";
import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * DiskExportRead: one positional read of the staging file over the SFTP
 * channel (no shell per chunk); a range of zeros comes back as zero_length.
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
  const files = await ctx.transfers.files("export", record.id, signal);
  const data = await ctx.host.readRange(files.data, offset, length, signal);
  if (data.length !== length) {
    throw ProviderError.internal(
      `the staging file of export ${JSON.stringify(record.id)} is shorter than recorded`,
    );
  }
  return { chunk: chunkOf(offset, data) };
};
