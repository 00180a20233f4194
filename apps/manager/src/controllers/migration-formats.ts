import { createHash } from "node:crypto";
import { ImageFormat } from "@virtrigaud/contracts";
import { DiskFormat } from "@virtrigaud/proto/manager";

const toImage: Partial<Record<DiskFormat, ImageFormat>> = {
  [DiskFormat.QCOW2]: ImageFormat.QCOW2,
  [DiskFormat.VMDK]: ImageFormat.VMDK,
  [DiskFormat.RAW]: ImageFormat.RAW,
};

/** The provider's ImageFormat of a migration's DiskFormat (UNSPECIFIED for none). */
export function imageFormatOf(format: DiskFormat): ImageFormat {
  return toImage[format] ?? ImageFormat.UNSPECIFIED;
}

/** The migration's DiskFormat of a provider's ImageFormat (UNSPECIFIED for one a disk does not travel in). */
export function diskFormatOf(format: ImageFormat): DiskFormat {
  for (const [disk, image] of Object.entries(toImage)) if (image === format) return Number(disk);
  return DiskFormat.UNSPECIFIED;
}

/**
 * The format the disks travel in: the one asked for when the source
 * exports it and the target imports it; otherwise the first the source
 * exports that the target imports (the source lists its own first, which
 * needs no conversion). Undefined when there is none.
 */
export function commonFormat(
  exports: readonly ImageFormat[],
  imports: readonly ImageFormat[],
  asked: DiskFormat | undefined,
): DiskFormat | undefined {
  const both = exports.map(diskFormatOf).filter((f) => f && imports.includes(imageFormatOf(f)));
  if (asked && both.includes(asked)) return asked;
  return both[0];
}

/**
 * The export and import ids of one disk of a migration: derived from the
 * migration's uid and the disk's name, so that a restarted manager finds
 * the same export and import. A digest keeps them short and usable as a
 * file or volume name on any provider.
 */
export function transferIds(
  uid: string,
  disk: string,
): { exportId: string; importId: string; syncExportId: string } {
  const digest = createHash("sha256").update(`${uid}/${disk}`).digest("hex").slice(0, 16);
  const name = disk.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 24);
  return {
    exportId: `vrtg-x-${digest}-${name}`,
    importId: `vrtg-m-${digest}-${name}`,
    // The disk as it is at cutover, with the ranges changed since the snapshot.
    syncExportId: `vrtg-s-${digest}-${name}`,
  };
}
