import { DiskType } from "@virtrigaud/contracts";
import type {
  ParaVirtualSCSIController,
  PropertyValues,
  VirtualDevice,
  VirtualDeviceConfigSpec,
  VirtualDisk,
  VirtualDiskFlatVer2BackingInfo,
} from "@virtrigaud/vsphere-sdk";

/** The VM's devices. */
export function devicesOf(values: PropertyValues): VirtualDevice[] {
  return (values["config.hardware.device"] as VirtualDevice[] | undefined) ?? [];
}

/** The device spec that adds a paravirtual SCSI controller on bus 0. */
export function addScsiController(key: number): VirtualDeviceConfigSpec {
  const controller: ParaVirtualSCSIController = {
    _type: "ParaVirtualSCSIController",
    key,
    busNumber: 0,
    sharedBus: "noSharing",
  };
  return { operation: "add", device: controller };
}

function diskBacking(type: DiskType, fileName: string): VirtualDiskFlatVer2BackingInfo {
  return {
    _type: "VirtualDiskFlatVer2BackingInfo",
    fileName,
    diskMode: "persistent",
    thinProvisioned: type === DiskType.THIN || type === DiskType.UNSPECIFIED,
    eagerlyScrub: type === DiskType.THICK_EAGER_ZEROED,
  };
}

const kib = (gib: number) => gib * 1024 * 1024;

/** The device spec that creates a new disk of `sizeGib` on a controller's unit. */
export function addDisk(
  key: number,
  controllerKey: number,
  unitNumber: number,
  sizeGib: number,
  type: DiskType,
  datastoreName: string | undefined,
): VirtualDeviceConfigSpec {
  const disk: VirtualDisk = {
    _type: "VirtualDisk",
    key,
    controllerKey,
    unitNumber,
    capacityInKB: kib(sizeGib),
    backing: diskBacking(type, datastoreName ? `[${datastoreName}]` : ""),
  };
  return { operation: "add", fileOperation: "create", device: disk };
}

/**
 * The device spec that attaches a disk already on a datastore (an imported
 * one, `fileName` its descriptor) as it is: no file operation, no copy.
 */
export function attachDisk(
  key: number,
  controllerKey: number,
  unitNumber: number,
  capacityKB: number,
  fileName: string,
): VirtualDeviceConfigSpec {
  const disk: VirtualDisk = {
    _type: "VirtualDisk",
    key,
    controllerKey,
    unitNumber,
    capacityInKB: capacityKB,
    backing: diskBacking(DiskType.THICK, fileName),
  };
  return { operation: "add", device: disk };
}

/** The device spec that grows an existing disk to `sizeGib`. */
export function growDisk(disk: VirtualDisk, sizeGib: number): VirtualDeviceConfigSpec {
  const backing = disk.backing as VirtualDiskFlatVer2BackingInfo | undefined;
  const flat: VirtualDiskFlatVer2BackingInfo | undefined =
    backing?._type === "VirtualDiskFlatVer2BackingInfo"
      ? {
          _type: "VirtualDiskFlatVer2BackingInfo",
          fileName: backing.fileName,
          diskMode: backing.diskMode,
          ...(backing.thinProvisioned === undefined
            ? {}
            : { thinProvisioned: backing.thinProvisioned }),
          ...(backing.eagerlyScrub === undefined ? {} : { eagerlyScrub: backing.eagerlyScrub }),
        }
      : undefined;
  const device: VirtualDisk = {
    _type: "VirtualDisk",
    key: disk.key,
    // vcsim dereferences deviceInfo on an edit; vCenter takes it as the label.
    ...(disk.deviceInfo
      ? {
          deviceInfo: {
            _type: "Description",
            label: disk.deviceInfo.label,
            summary: disk.deviceInfo.summary,
          },
        }
      : {}),
    ...(disk.controllerKey === undefined ? {} : { controllerKey: disk.controllerKey }),
    ...(disk.unitNumber === undefined ? {} : { unitNumber: disk.unitNumber }),
    capacityInKB: kib(sizeGib),
    capacityInBytes: kib(sizeGib) * 1024,
    ...(flat ? { backing: flat } : {}),
  };
  return { operation: "edit", device };
}

/** The device spec that removes a device (a template's NIC, say). */
export function removeDevice(device: VirtualDevice): VirtualDeviceConfigSpec {
  return {
    operation: "remove",
    device: { _type: device._type ?? "VirtualDevice", key: device.key },
  };
}

/** The units of a SCSI controller disks can use: 7 is the controller's own. */
const scsiUnits = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15];

/** The SCSI controller new disks go on, and the units it has free. */
export function scsiSlots(devices: VirtualDevice[]): {
  controllerKey: number | undefined;
  free: number[];
} {
  const controller = devices.find((d) => /SCSIController$|LsiLogic|BusLogic/.test(d._type ?? ""));
  if (!controller) return { controllerKey: undefined, free: [...scsiUnits] };
  const used = new Set(
    devices.filter((d) => d.controllerKey === controller.key).map((d) => d.unitNumber),
  );
  return { controllerKey: controller.key, free: scsiUnits.filter((u) => !used.has(u)) };
}
