import { create } from "@bufbuild/protobuf";
import {
  DiskImportSchema,
  ImageFormat,
  ProviderError,
  type DiskImport,
} from "@virtrigaud/contracts";
import { placeVm } from "./creations.js";
import { type ImportRecord, idFileName } from "./disk-staging.js";
import { datastoresOfPool, emptiest } from "./placement.js";
import type { VsphereOperation } from "./vsphere-context.js";

/** The datastore directory imported disks go to, one directory per import. */
export const importsDirectory = "virtrigaud-imports";

/** An import as the contract tells it. */
export function importMessage(record: ImportRecord): DiskImport {
  return create(DiskImportSchema, {
    id: record.importId,
    format: ImageFormat.RAW,
    sizeBytes: BigInt(record.sizeBytes),
    receivedBytes: BigInt(record.received),
    committed: record.committed,
  });
}

/**
 * DiskImportBegin: starts receiving a RAW disk into a sparse staging file of
 * the provider, bound for the placement's datastore (or the default, or the
 * emptiest the default pool reaches), or finds the import of that id and says
 * how much of it is held.
 *
 * @throws ProviderError INVALID_SPEC for a size that is not whole 512-byte
 * sectors; CONFLICT for an import id already used with another size or
 * checksum; UNSUPPORTED for a format other than RAW; UNAVAILABLE when no
 * datastore is reachable.
 */
export const diskImportBegin: VsphereOperation<"diskImportBegin"> = async (
  ctx,
  request,
  signal,
) => {
  const { importId } = request;
  const sizeBytes = Number(request.sizeBytes);
  const sha256 = request.sha256.toLowerCase();
  if (request.format !== ImageFormat.RAW) {
    throw ProviderError.unsupported("the vSphere provider imports RAW disks only");
  }
  const known = await ctx.staging.readImport(importId);
  if (known) {
    if (known.sizeBytes !== sizeBytes || known.sha256 !== sha256) {
      throw ProviderError.conflict(`import ${importId} is under way with another size or checksum`);
    }
    return { import: importMessage(known) };
  }
  if (sizeBytes <= 0 || sizeBytes % 512 !== 0) {
    throw ProviderError.invalidSpec(
      "size_bytes",
      `a VMDK holds whole 512-byte sectors; ${sizeBytes} is not`,
    );
  }
  const placement = await placeVm(ctx, request.placement, signal);
  const datastore =
    placement.datastore ??
    (await ctx.call(signal, async () =>
      emptiest(ctx.client, await datastoresOfPool(ctx.client, placement.pool, { signal }), {
        signal,
      }),
    ));
  if (!datastore) throw ProviderError.unavailable("no datastore is reachable for the import");
  const dc = await ctx.call(signal, () => ctx.finder.datacenter({ signal }));
  const record: ImportRecord = {
    importId,
    sizeBytes,
    sha256,
    datacenterPath: dc.path,
    datastore: datastore.name,
    directory: `${importsDirectory}/${idFileName(importId)}`,
    received: 0,
    ahead: [],
    dirtyEnd: 0,
    committed: false,
  };
  await ctx.staging.createImportData(importId, sizeBytes);
  await ctx.staging.writeImport(record);
  return { import: importMessage(record) };
};
