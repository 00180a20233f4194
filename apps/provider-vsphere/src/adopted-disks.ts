import { ProviderError, type ProviderRequest } from "@virtrigaud/contracts";
import {
  type PropertyValues,
  type VirtualDeviceConfigSpec,
  datastorePath,
  parseDatastorePath,
} from "@virtrigaud/vsphere-sdk";
import { growDisk, removeDevice } from "./devices.js";
import { importsDirectory } from "./disk-import-begin.js";
import { type ImportRecord, importedDiskFiles } from "./disk-staging.js";
import { lookupVm } from "./vm-lookup.js";
import { capacityBytes, diskFileName } from "./disk-infos.js";
import { disksOf } from "./vm-properties.js";
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

/**
 * Records that the VM `vmId` owns the import's disk from now on
 * (DiskImportAbort leaves it), or, with undefined, that no VM does.
 */
export async function markAdopted(
  ctx: VsphereContext,
  importId: string,
  vmId: string | undefined,
): Promise<void> {
  await ctx.perVm.run(`import/${importId}`, async () => {
    const record = await ctx.staging.readImport(importId);
    if (!record) return;
    const next: ImportRecord = { ...record };
    if (vmId === undefined) delete next.adoptedBy;
    else next.adoptedBy = vmId;
    await ctx.staging.writeImport(next);
  });
}

/** The device changes that detach a VM's imported disks, leaving their files. */
export function detachSpec(values: PropertyValues): VirtualDeviceConfigSpec[] {
  return disksOf(values).flatMap(({ disk }) =>
    importIdOfFile(diskFileName(disk)) === undefined ? [] : [removeDevice(disk)],
  );
}

/** The imported disks of a Create, root and data disks by index. */
export interface AdoptedDisks {
  root: AdoptedDisk | undefined;
  disks: Array<AdoptedDisk | undefined>;
}

const gib = 1024 * 1024;

/**
 * The sizes, by disk name, that the request asks of its imported disks beyond
 * their own: the root disk's rootDiskSizeGib, a data disk's sizeGib.
 */
export function adoptedGrowth(
  request: Pick<ProviderRequest<"create">, "rootDiskSizeGib" | "disks">,
  adopted: AdoptedDisks,
): Map<string, number> {
  const wanted = new Map<string, number>();
  if (adopted.root && request.rootDiskSizeGib * gib > adopted.root.capacityKB) {
    wanted.set("root", request.rootDiskSizeGib);
  }
  request.disks.forEach((d, i) => {
    const disk = adopted.disks[i];
    if (disk && d.sizeGib * gib > disk.capacityKB) wanted.set(d.name, d.sizeGib);
  });
  return wanted;
}

/** The device changes that grow a new VM's disks (by name) to the sizes wanted. */
export function growthSpec(
  values: PropertyValues,
  wanted: Map<string, number>,
): VirtualDeviceConfigSpec[] {
  return disksOf(values).flatMap(({ name, disk }) => {
    const size = wanted.get(name);
    // In bytes: diskGib rounds a small disk up to the size asked.
    return size !== undefined && size * gib * 1024 > capacityBytes(disk)
      ? [growDisk(disk, size)]
      : [];
  });
}
