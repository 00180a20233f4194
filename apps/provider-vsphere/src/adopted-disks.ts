import { ProviderError } from "@virtrigaud/contracts";
import { datastorePath, parseDatastorePath } from "@virtrigaud/vsphere-sdk";
import { importsDirectory } from "./disk-import-begin.js";
import { type ImportRecord, importedDiskFiles } from "./disk-staging.js";
import { lookupVm } from "./vm-lookup.js";
import type { VsphereContext } from "./vsphere-context.js";

/** A committed import a new VM attaches as it is, without a copy. */
export interface AdoptedDisk {
  importId: string;
  /** The descriptor's datastore path: "[ds] virtrigaud-imports/<id>/disk.vmdk". */
  fileName: string;
  capacityKB: number;
}

/** The id of the import a disk file belongs to, when it is an imported disk. */
export function importIdOfFile(fileName: string): string | undefined {
  const where = parseDatastorePath(fileName);
  const parts = where?.path.split("/");
  if (
    parts?.length !== 3 ||
    parts[0] !== importsDirectory ||
    parts[2] !== importedDiskFiles.descriptor
  ) {
    return undefined;
  }
  try {
    return decodeURIComponent(parts[1]!);
  } catch {
    return undefined;
  }
}

/** The descriptor's datastore path of an import. */
export function importedDiskPath(record: ImportRecord): string {
  return datastorePath({
    datastore: record.datastore,
    path: `${record.directory}/${importedDiskFiles.descriptor}`,
  });
}

/**
 * Finds a committed import for a new VM named `vmName`.
 *
 * @throws ProviderError INVALID_SPEC naming `field` for an import that is not
 * there or not committed; CONFLICT for one another VM adopted.
 */
export async function findAdoptable(
  ctx: VsphereContext,
  importId: string,
  field: string,
  vmName: string,
  signal: AbortSignal,
): Promise<AdoptedDisk> {
  const record = await ctx.staging.readImport(importId);
  if (!record) throw ProviderError.invalidSpec(field, `there is no import ${importId}`);
  if (!record.committed)
    throw ProviderError.invalidSpec(field, `import ${importId} is not committed`);
  if (record.adoptedBy) {
    const owner = await lookupVm(ctx, record.adoptedBy, signal);
    if (owner && owner.values["name"] !== vmName) {
      throw ProviderError.conflict(
        `import ${importId} is the disk of vm ${record.adoptedBy} already`,
      );
    }
  }
  return { importId, fileName: importedDiskPath(record), capacityKB: record.sizeBytes / 1024 };
}

/** Records that the VM `vmId` owns the import's disk from now on (DiskImportAbort leaves it). */
export async function markAdopted(
  ctx: VsphereContext,
  importId: string,
  vmId: string,
): Promise<void> {
  await ctx.perVm.run(`import/${importId}`, async () => {
    const record = await ctx.staging.readImport(importId);
    if (record) await ctx.staging.writeImport({ ...record, adoptedBy: vmId });
  });
}
