import { ImageFormat, ProviderError } from "@virtrigaud/contracts";
import { generateDiskContent } from "./disk-content.js";
import type { DiskStore } from "./disk-store.js";
import type { MachineConfig, VmRecord } from "./vm-record.js";

type DiskRecord = MachineConfig["disks"][number];

const GiB = 1024 ** 3;

/** The format a disk is kept in: an import's own, or QCOW2 for the mock's made-up disks. */
export function diskFormat(disks: DiskStore, disk: DiskRecord): ImageFormat {
  return disk.importId
    ? (disks.imports.get(disk.importId)?.format ?? ImageFormat.RAW)
    : ImageFormat.QCOW2;
}

/** The size the guest sees. */
export function capacityBytes(disk: DiskRecord): number {
  return disk.sizeGib * GiB;
}

/** The length of the disk's file: what an export of it holds. */
export function fileBytes(disks: DiskStore, disk: DiskRecord): number {
  return disk.importId
    ? (disks.imports.get(disk.importId)?.bytes.length ?? 0)
    : disks.generatedDiskBytes;
}

/**
 * A copy of the disk's bytes: the import it adopted, or bytes made up from
 * the VM's and the disk's names, with what the simulated guest wrote into
 * it (before `snapshotId`, when given).
 *
 * @throws ProviderError DATA_LOSS for an adopted import the mock no longer
 * holds (imported bytes live in memory only and do not survive a restart).
 */
export function readDiskBytes(
  disks: DiskStore,
  vm: VmRecord,
  disk: DiskRecord,
  snapshotId?: string,
): Uint8Array {
  return disks.guest.apply(vm.id, disk.name, baseDiskBytes(disks, vm, disk), snapshotId);
}

/** The disk's bytes before any simulated guest write. */
function baseDiskBytes(disks: DiskStore, vm: VmRecord, disk: DiskRecord): Uint8Array {
  if (!disk.importId)
    return generateDiskContent(`${vm.name}/${disk.name}`, disks.generatedDiskBytes);
  const adopted = disks.imports.get(disk.importId);
  if (!adopted) {
    throw ProviderError.dataLoss(
      `disk ${disk.name} of vm ${vm.id} was imported as ${disk.importId}, whose bytes the mock lost at a restart`,
    );
  }
  return adopted.bytes.slice();
}
