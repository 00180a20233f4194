import { ProviderError } from "@virtrigaud/contracts";
import { requestedFormat } from "./disks/disk-format.js";
import { askedPool, askedPoolName } from "./disks/asked-pool.js";
import { importOf, loadImport, startImport } from "./disks/imports.js";
import type { ImportRecord } from "./disks/transfer-area.js";
import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * DiskImportBegin: finds the import of that id and says how much of it is
 * held (received_bytes, the durable prefix), or starts one: a sparse staging
 * file of the declared size (`truncate`, so ranges never written stay holes)
 * and its record. The same id with another size, format, checksum or pool is
 * refused.
 *
 * @throws ProviderError INVALID_SPEC for a format other than qcow2 and raw, an
 * empty file, or a pool that does not exist; CONFLICT when the id is taken by
 * another file.
 */
export const diskImportBegin: LibvirtOperation<"diskImportBegin"> = async (
  ctx,
  request,
  signal,
) => {
  const format = requestedFormat(request.format, "format");
  const sizeBytes = Number(request.sizeBytes);
  if (sizeBytes <= 0) throw ProviderError.invalidSpec("size_bytes", "must be more than 0");
  const pool = askedPoolName(ctx, request.placement?.storagePool);
  const sha256 = request.sha256.toLowerCase();
  const existing = await loadImport(ctx, request.importId, signal);
  if (existing) {
    const r = existing.record;
    if (
      r.format !== format ||
      r.sizeBytes !== sizeBytes ||
      r.sha256 !== sha256 ||
      r.pool !== pool
    ) {
      throw ProviderError.conflict(
        `disk import ${JSON.stringify(request.importId)} exists for another file; abort it or choose another id`,
      );
    }
    return { import: importOf(r) };
  }
  if (pool !== ctx.pool.name) await askedPool(ctx, pool, signal);
  const files = await ctx.transfers.files("import", request.importId, signal);
  await ctx.execOk(
    ["sh", "-c", 'rm -f -- "$1" && truncate -s "$2" -- "$1"', "sh", files.data, String(sizeBytes)],
    signal,
  );
  const record: ImportRecord = {
    kind: "import",
    id: request.importId,
    format,
    sizeBytes,
    sha256,
    pool,
    receivedBytes: 0,
    committed: false,
    volume: "",
    capacityBytes: 0,
    adoptedBy: "",
  };
  await ctx.transfers.write(record, undefined, signal);
  startImport(ctx, record, files);
  return { import: importOf(record) };
};
