import { type DomainInfo } from "../xml/parse-domain.js";
import { diskName } from "../inventory/inventory.js";

/** A disk of a domain as DescribeDisks and DiskExportBegin see it. */
export interface VmDisk {
  name: string;
  target: string;
  path: string;
  /** The driver's format: qcow2, raw, ... */
  format: string;
  /** Its position among the domain's disks (CD-ROMs left out), boot disk first. */
  index: number;
}

/** The domain's disks (not its CD-ROMs), boot disk first, named as the provider names them. */
export function vmDisks(info: DomainInfo): VmDisk[] {
  return info.disks
    .filter((d) => d.device === "disk")
    .map((d, index) => ({
      name: diskName(info, d.target),
      target: d.target,
      path: d.path,
      format: d.format || "raw",
      index,
    }));
}

/** Capacity and allocation in bytes, from `virsh domblkinfo` (0 for what it does not say). */
export function parseBlkInfo(out: string): { capacity: number; allocation: number } {
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(out)?.[1] ?? 0);
  return { capacity: field("Capacity"), allocation: field("Allocation") };
}
