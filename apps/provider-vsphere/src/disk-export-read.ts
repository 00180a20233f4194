import { ProviderError, chunkOf } from "@virtrigaud/contracts";
import { openExportSource } from "./export-source.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * DiskExportRead: a range of an export, read from its source with a Range
 * request; all-zero ranges come back as zero_length.
 *
 * @throws ProviderError NOT_FOUND for an export that is not there (or not
 * ready), INVALID_SPEC for an offset past the end, CONFLICT when the disk
 * changed since the export began.
 */
export const diskExportRead: VsphereOperation<"diskExportRead"> = async (ctx, request, signal) => {
  const record = await ctx.staging.readExport(request.exportId);
  if (!record)
    throw ProviderError.notFound(`there is no export ${request.exportId} (or it is not ready)`);
  const offset = Number(request.offset);
  if (offset > record.sizeBytes) {
    throw ProviderError.invalidSpec(
      "offset",
      `the export ends at ${record.sizeBytes}, before ${offset}`,
    );
  }
  const length = Math.min(request.length, record.sizeBytes - offset);
  const { data, lastModified } = await ctx.call(signal, () =>
    openExportSource(ctx.client, record.source).read(offset, length, signal),
  );
  if (
    length > 0 &&
    record.source.lastModified &&
    lastModified &&
    lastModified !== record.source.lastModified
  ) {
    throw ProviderError.conflict(
      `the disk of export ${request.exportId} changed since the export began`,
    );
  }
  if (data.length !== length) {
    throw ProviderError.retryable(
      `read ${data.length} of ${length} bytes at ${offset}; read again`,
    );
  }
  return { chunk: chunkOf(offset, data) };
};
