import { create } from "@bufbuild/protobuf";
import {
  type Capabilities,
  CapabilitiesSchema,
  ConsoleKind,
  DiskType,
  Firmware,
  ImageFormat,
  ImageSourceKind,
  NetworkType,
} from "@virtrigaud/contracts";

/** What the provider declares: everything it implements and tests. */
export function libvirtCapabilities(console: boolean): Capabilities {
  return create(CapabilitiesSchema, {
    providerType: "libvirt",
    providerVersion: "0.1.0",
    onlineReconfigure: true,
    onlineDiskGrow: true,
    snapshots: true,
    memorySnapshots: true,
    linkedClones: true,
    fullClones: true,
    imagePrepare: true,
    suspend: true,
    console,
    // Every domain has a serial console, and a VNC display unless --vnc-listen off (domain-xml.ts).
    consoleKinds: console ? [ConsoleKind.SERIAL, ConsoleKind.VNC] : [ConsoleKind.SERIAL],
    diskTypes: [DiskType.THIN, DiskType.THICK],
    networkTypes: [NetworkType.VIRTUAL, NetworkType.BRIDGE],
    firmwareTypes: [Firmware.BIOS, Firmware.UEFI],
    imageSources: [ImageSourceKind.TEMPLATE, ImageSourceKind.PATH, ImageSourceKind.URL],
    diskExportFormats: [ImageFormat.QCOW2, ImageFormat.RAW],
    diskImportFormats: [ImageFormat.QCOW2, ImageFormat.RAW],
    // A running VM's disk is exported at an internal snapshot (qcow2 disks),
    // and the ranges changed since one read from the image's own tables.
    diskExportFromSnapshot: true,
    diskExportChangedRanges: true,
    diskImportRewrites: true,
  });
}
