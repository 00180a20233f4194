import {
  type Capabilities,
  CapabilitiesSchema,
  DiskType,
  Firmware,
  ImageFormat,
  ImageSourceKind,
  NetworkType,
} from "@virtrigaud/contracts";
import { create } from "@bufbuild/protobuf";

/**
 * What the vSphere provider declares (vcts runs a case for each). Online
 * reconfigure depends on hot add, which the provider enables on its VMs
 * unless told not to.
 */
export function vsphereCapabilities(hotAdd: boolean): Capabilities {
  return create(CapabilitiesSchema, {
    providerType: "vsphere",
    providerVersion: "0.1.0",
    onlineReconfigure: hotAdd,
    onlineDiskGrow: true,
    snapshots: true,
    memorySnapshots: true,
    linkedClones: true,
    fullClones: true,
    imagePrepare: true,
    suspend: true,
    console: true,
    diskTypes: [DiskType.THIN, DiskType.THICK, DiskType.THICK_EAGER_ZEROED],
    networkTypes: [NetworkType.PORT_GROUP, NetworkType.DISTRIBUTED_PORT_GROUP],
    firmwareTypes: [Firmware.BIOS, Firmware.UEFI],
    imageSources: [ImageSourceKind.TEMPLATE],
    // RAW through the datastore file service (flat extents); no export from a snapshot.
    diskExportFormats: [ImageFormat.RAW],
    diskImportFormats: [ImageFormat.RAW],
    // Changed ranges need CBT (QueryChangedDiskAreas), which vcsim does not
    // have: a running source is migrated cold, and the manager says so.
    diskExportChangedRanges: false,
    // Its import's durable prefix is not kept for ranges written again.
    diskImportRewrites: false,
  });
}
