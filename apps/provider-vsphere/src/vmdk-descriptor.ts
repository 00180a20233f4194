/** One extent line of a VMDK descriptor: `RW 4192256 FLAT "disk-flat.vmdk" 0`. */
interface VmdkExtent {
  access: string;
  /** Its length in 512-byte sectors. */
  sectors: number;
  /** FLAT, VMFS, SPARSE, VMFSSPARSE, SESPARSE, ZERO, ... */
  type: string;
  /** The extent's file, relative to the descriptor's directory. */
  file: string;
  /** Where the extent starts in its file, in sectors. */
  offset: number;
}

/** What a VMDK descriptor says about the disk's layout. */
export interface VmdkDescriptor {
  createType: string;
  parentCid: string;
  extents: VmdkExtent[];
}

const extentLine =
  /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)(?:\s+"((?:[^"\\]|\\.)*)"(?:\s+(\d+))?)?\s*$/;
const keyValue = /^([A-Za-z.]+)\s*=\s*"?([^"]*)"?\s*$/;

/**
 * Reads a VMDK text descriptor (the `<name>.vmdk` beside a flat extent);
 * undefined when the text is not one (a sparse VMDK's binary header, an empty
 * file).
 */
export function parseVmdkDescriptor(text: string): VmdkDescriptor | undefined {
  let createType: string | undefined;
  let parentCid = "ffffffff";
  const extents: VmdkExtent[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const extent = extentLine.exec(line);
    if (extent) {
      extents.push({
        access: extent[1]!,
        sectors: Number(extent[2]),
        type: extent[3]!,
        file: (extent[4] ?? "").replace(/\\(.)/g, "$1"),
        offset: Number(extent[5] ?? "0"),
      });
      continue;
    }
    const kv = keyValue.exec(line);
    if (kv?.[1] === "createType") createType = kv[2];
    if (kv?.[1] === "parentCID") parentCid = kv[2] ?? parentCid;
  }
  if (!createType || extents.length === 0) return undefined;
  return { createType, parentCid, extents };
}

/** The flat extent that holds a disk's bytes as they are, or why there is none. */
export type FlatExtentVerdict =
  { ok: true; file: string; sizeBytes: number } | { ok: false; why: string };

/**
 * Decides whether a disk can be read as raw bytes straight from its one flat
 * extent: a monolithicFlat (hosted) or vmfs (ESXi) disk with no parent.
 * Sparse, delta and streamOptimized disks, and disks split into several
 * extents, cannot.
 */
export function flatExtentOf(descriptor: VmdkDescriptor): FlatExtentVerdict {
  const { createType, extents } = descriptor;
  if (descriptor.parentCid.toLowerCase() !== "ffffffff") {
    return { ok: false, why: `it is a delta disk (createType ${createType}) over a parent` };
  }
  if (createType !== "monolithicFlat" && createType !== "vmfs") {
    return {
      ok: false,
      why: `its createType is ${createType}; only monolithicFlat and vmfs disks keep their bytes in one flat extent`,
    };
  }
  const [extent] = extents;
  if (extents.length !== 1 || !extent) {
    return {
      ok: false,
      why: `it has ${extents.length} extents; only single-extent disks are read`,
    };
  }
  if ((extent.type !== "FLAT" && extent.type !== "VMFS") || extent.offset !== 0 || !extent.file) {
    return {
      ok: false,
      why: `its extent is ${extent.type} at sector ${extent.offset}, not a flat file`,
    };
  }
  if (extent.file.includes("/")) {
    return { ok: false, why: `its extent ${JSON.stringify(extent.file)} is outside its directory` };
  }
  return { ok: true, file: extent.file, sizeBytes: extent.sectors * 512 };
}

/** Options of `monolithicFlatDescriptor`. */
export interface FlatDescriptorOptions {
  sizeBytes: number;
  /** The flat extent's file name, in the descriptor's directory. */
  flatFileName: string;
  /** ddb.adapterType: "lsilogic" (SCSI, the default), "ide", "buslogic" or "pvscsi". */
  adapterType?: string;
  /** The content id: 8 hexadecimal digits. */
  cid: string;
}

/**
 * The disk geometry VMware writes for a disk's size: 255 heads and 63
 * sectors per track on SCSI, 16 heads on IDE, cylinders to fill the size
 * (at most 16383 on IDE).
 */
export function vmdkGeometry(
  sizeBytes: number,
  adapterType: string,
): { cylinders: number; heads: number; sectors: number } {
  const sectors = 63;
  const heads = adapterType === "ide" ? 16 : 255;
  const cylinders = Math.floor(sizeBytes / 512 / (heads * sectors));
  return {
    cylinders: adapterType === "ide" ? Math.min(cylinders, 16383) : cylinders,
    heads,
    sectors,
  };
}

/**
 * The text of a monolithicFlat descriptor for a raw file of `sizeBytes`
 * (a whole number of 512-byte sectors).
 *
 * @throws RangeError when the size is not a positive multiple of 512.
 */
export function monolithicFlatDescriptor(options: FlatDescriptorOptions): string {
  const { sizeBytes, flatFileName, cid } = options;
  if (sizeBytes <= 0 || sizeBytes % 512 !== 0) {
    throw new RangeError(`a VMDK extent is whole 512-byte sectors, not ${sizeBytes} bytes`);
  }
  const adapterType = options.adapterType ?? "lsilogic";
  const g = vmdkGeometry(sizeBytes, adapterType);
  const quoted = flatFileName.replace(/["\\]/g, "\\$&");
  return [
    "# Disk DescriptorFile",
    "version=1",
    'encoding="UTF-8"',
    `CID=${cid}`,
    "parentCID=ffffffff",
    'createType="monolithicFlat"',
    "",
    "# Extent description",
    `RW ${sizeBytes / 512} FLAT "${quoted}" 0`,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    `ddb.adapterType = "${adapterType}"`,
    `ddb.geometry.cylinders = "${g.cylinders}"`,
    `ddb.geometry.heads = "${g.heads}"`,
    `ddb.geometry.sectors = "${g.sectors}"`,
    'ddb.virtualHWVersion = "4"',
    "",
  ].join("\n");
}
