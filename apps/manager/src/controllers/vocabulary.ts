/**
 * Translations between the manager's vocabulary (manifest enums) and the
 * provider's (the provider contract's enums), in one place and one style: a
 * table per enum, and what a value the table lacks becomes.
 */
import {
  ChecksumAlgorithm,
  CloneType as ProviderCloneType,
  DiskType as ProviderDiskType,
  Firmware as ProviderFirmware,
  ImageFormat as ProviderImageFormat,
  IpSource,
  NicModel,
  PowerState as ProviderPowerState,
} from "@virtrigaud/contracts";
import {
  AddressSource,
  ChecksumType,
  CloneType,
  DiskType,
  Firmware,
  ImageFormat,
  NicModelName,
  PowerState,
} from "@virtrigaud/proto/manager";

const firmwares: Partial<Record<Firmware, ProviderFirmware>> = {
  [Firmware.BIOS]: ProviderFirmware.BIOS,
  [Firmware.UEFI]: ProviderFirmware.UEFI,
  [Firmware.EFI]: ProviderFirmware.UEFI,
};

/** The provider's firmware for a class's; EFI is UEFI. */
export function providerFirmware(firmware: Firmware): ProviderFirmware {
  return firmwares[firmware] ?? ProviderFirmware.UNSPECIFIED;
}

const diskTypes: Partial<Record<DiskType, ProviderDiskType>> = {
  [DiskType.THIN]: ProviderDiskType.THIN,
  [DiskType.THICK]: ProviderDiskType.THICK,
  [DiskType.EAGER_ZEROED_THICK]: ProviderDiskType.THICK_EAGER_ZEROED,
};

/** The provider's disk type for a manifest disk type; ssd, hdd and nvme leave it to the provider. */
export function providerDiskType(type: DiskType): ProviderDiskType {
  return diskTypes[type] ?? ProviderDiskType.UNSPECIFIED;
}

const nicModels: Partial<Record<NicModelName, NicModel>> = {
  [NicModelName.VIRTIO]: NicModel.VIRTIO,
  [NicModelName.E1000]: NicModel.E1000,
  [NicModelName.E1000E]: NicModel.E1000E,
  [NicModelName.RTL8139]: NicModel.RTL8139,
  [NicModelName.VMXNET3]: NicModel.VMXNET3,
};

/** The provider's NIC model for an attachment's. */
export function providerNicModel(model: NicModelName): NicModel {
  return nicModels[model] ?? NicModel.UNSPECIFIED;
}

const imageFormats: Partial<Record<ImageFormat, ProviderImageFormat>> = {
  [ImageFormat.QCOW2]: ProviderImageFormat.QCOW2,
  [ImageFormat.RAW]: ProviderImageFormat.RAW,
  [ImageFormat.VMDK]: ProviderImageFormat.VMDK,
  [ImageFormat.OVA]: ProviderImageFormat.OVA,
  [ImageFormat.OVF]: ProviderImageFormat.OVF,
  [ImageFormat.ISO]: ProviderImageFormat.ISO,
};

/** The provider's image format for an image's; vhd and vhdx leave it to the provider. */
export function providerImageFormat(format: ImageFormat): ProviderImageFormat {
  return imageFormats[format] ?? ProviderImageFormat.UNSPECIFIED;
}

const checksumAlgorithms: Partial<Record<ChecksumType, ChecksumAlgorithm>> = {
  [ChecksumType.SHA512]: ChecksumAlgorithm.SHA512,
};

/** The provider's checksum algorithm for an image's checksum type: SHA-512, else SHA-256. */
export function providerChecksumAlgorithm(type: ChecksumType): ChecksumAlgorithm {
  return checksumAlgorithms[type] ?? ChecksumAlgorithm.SHA256;
}

const cloneTypes: Partial<Record<CloneType, ProviderCloneType>> = {
  [CloneType.LINKED_CLONE]: ProviderCloneType.LINKED,
};

/** The provider's clone type for a clone's: linked, else full. */
export function providerCloneType(type: CloneType): ProviderCloneType {
  return cloneTypes[type] ?? ProviderCloneType.FULL;
}

const powerStates: Partial<Record<ProviderPowerState, PowerState>> = {
  [ProviderPowerState.ON]: PowerState.ON,
  [ProviderPowerState.OFF]: PowerState.OFF,
  [ProviderPowerState.SUSPENDED]: PowerState.SUSPENDED,
};

/** The provider VM's power state, in manifest terms. */
export function observedPower(state: ProviderPowerState): PowerState {
  return powerStates[state] ?? PowerState.UNSPECIFIED;
}

const addressSources: Partial<Record<IpSource, AddressSource>> = {
  [IpSource.GUEST_AGENT]: AddressSource.GUEST_AGENT,
  [IpSource.DHCP_LEASE]: AddressSource.DHCP_LEASE,
  [IpSource.ARP]: AddressSource.ARP,
  [IpSource.STATIC]: AddressSource.STATIC,
};

/** Where an address a provider reports came from, in manifest terms. */
export function observedAddressSource(source: IpSource): AddressSource {
  return addressSources[source] ?? AddressSource.UNSPECIFIED;
}
