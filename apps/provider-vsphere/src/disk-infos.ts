import { create } from "@bufbuild/protobuf";
import { type DiskInfo, DiskInfoSchema, ImageFormat } from "@virtrigaud/contracts";
import type {
  PropertyValues,
  VirtualDeviceFileBackingInfo,
  VirtualDisk,
  VirtualDiskFlatVer2BackingInfo,
} from "@virtrigaud/vsphere-sdk";
import { disksOf } from "./vm-properties.js";

/** A disk's capacity in bytes. */
export function capacityBytes(disk: VirtualDisk): number {
  return disk.capacityInBytes ?? disk.capacityInKB * 1024;
}

/** The datastore path of a disk's file ("[ds] vm/vm.vmdk"), or "" for a disk without one. */
export function diskFileName(disk: VirtualDisk): string {
  return (disk.backing as VirtualDeviceFileBackingInfo | undefined)?.fileName ?? "";
}

/**
 * The VM's disks as DescribeDisks tells them, boot disk first: each a VMDK,
 * with its capacity, and its allocation when it is thick (a thin disk's is not
 * in the VM's config).
 */
export function diskInfos(values: PropertyValues): DiskInfo[] {
  return disksOf(values).map(({ name, disk }, index) => {
    const backing = disk.backing as VirtualDiskFlatVer2BackingInfo | undefined;
    const capacity = capacityBytes(disk);
    const thick = backing?._type === "VirtualDiskFlatVer2BackingInfo" && !backing.thinProvisioned;
    return create(DiskInfoSchema, {
      name,
      format: ImageFormat.VMDK,
      capacityBytes: BigInt(capacity),
      allocatedBytes: thick ? BigInt(capacity) : 0n,
      location: diskFileName(disk),
      index,
    });
  });
}
