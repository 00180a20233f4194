import { create } from "@bufbuild/protobuf";
import {
  type Capabilities,
  CapabilitiesSchema,
  DiskType,
  ConsoleKind,
  Firmware,
  ImageFormat,
  ImageSourceKind,
  NetworkType,
} from "@virtrigaud/contracts";

/** The capabilities the mock can turn off, by their proto field names. */
export const capabilityFlags = {
  online_reconfigure: "onlineReconfigure",
  online_disk_grow: "onlineDiskGrow",
  snapshots: "snapshots",
  memory_snapshots: "memorySnapshots",
  linked_clones: "linkedClones",
  full_clones: "fullClones",
  image_prepare: "imagePrepare",
  suspend: "suspend",
  console: "console",
  disk_export_formats: "diskExportFormats",
  disk_import_formats: "diskImportFormats",
  disk_export_changed_ranges: "diskExportChangedRanges",
  disk_import_rewrites: "diskImportRewrites",
} as const satisfies Record<string, keyof Capabilities>;

/** A capability the mock can turn off. */
export type CapabilityFlag = keyof typeof capabilityFlags;

/** What the mock declares: everything, less what `disabled` turns off. */
export function mockCapabilities(disabled: readonly CapabilityFlag[]): Capabilities {
  const capabilities = create(CapabilitiesSchema, {
    providerType: "mock",
    providerVersion: "0.1.0",
    onlineReconfigure: true,
    onlineDiskGrow: true,
    snapshots: true,
    memorySnapshots: true,
    linkedClones: true,
    fullClones: true,
    imagePrepare: true,
    suspend: true,
    console: true,
    consoleKinds: [ConsoleKind.SERIAL],
    diskTypes: [DiskType.THIN, DiskType.THICK, DiskType.THICK_EAGER_ZEROED],
    networkTypes: [
      NetworkType.VIRTUAL,
      NetworkType.BRIDGE,
      NetworkType.PORT_GROUP,
      NetworkType.DISTRIBUTED_PORT_GROUP,
    ],
    firmwareTypes: [Firmware.BIOS, Firmware.UEFI],
    imageSources: [ImageSourceKind.TEMPLATE, ImageSourceKind.PATH, ImageSourceKind.URL],
    // Opaque: the mock moves bytes and converts nothing.
    diskExportFormats: [ImageFormat.RAW, ImageFormat.QCOW2],
    diskImportFormats: [ImageFormat.RAW, ImageFormat.QCOW2],
    diskExportFromSnapshot: true,
    diskExportChangedRanges: true,
    diskImportRewrites: true,
  });
  for (const flag of disabled) {
    const field = capabilityFlags[flag];
    if (field === "diskExportFormats" || field === "diskImportFormats") capabilities[field] = [];
    else if (field === "console") {
      // Both faces of a console: the URL Describe reports and the Console RPC.
      capabilities.console = false;
      capabilities.consoleKinds = [];
    } else capabilities[field] = false;
  }
  if (!capabilities.diskExportFormats.length) {
    capabilities.diskExportFromSnapshot = false;
    capabilities.diskExportChangedRanges = false;
  }
  if (!capabilities.diskImportFormats.length) capabilities.diskImportRewrites = false;
  if (!capabilities.snapshots) {
    capabilities.memorySnapshots = false;
    capabilities.diskExportFromSnapshot = false;
    capabilities.diskExportChangedRanges = false;
  }
  return capabilities;
}
