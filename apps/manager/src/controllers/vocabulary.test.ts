import { describe, expect, it } from "@jest/globals";
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
import {
  observedAddressSource,
  observedPower,
  providerChecksumAlgorithm,
  providerCloneType,
  providerDiskType,
  providerFirmware,
  providerImageFormat,
  providerNicModel,
} from "./vocabulary.js";

describe("the manager's and the provider's vocabularies", () => {
  it.each([
    ["firmware BIOS", providerFirmware(Firmware.BIOS), ProviderFirmware.BIOS],
    ["firmware EFI is UEFI", providerFirmware(Firmware.EFI), ProviderFirmware.UEFI],
    ["firmware unset", providerFirmware(Firmware.UNSPECIFIED), ProviderFirmware.UNSPECIFIED],
    [
      "eager-zeroed thick disk",
      providerDiskType(DiskType.EAGER_ZEROED_THICK),
      ProviderDiskType.THICK_EAGER_ZEROED,
    ],
    [
      "an ssd is the provider's choice",
      providerDiskType(DiskType.SSD),
      ProviderDiskType.UNSPECIFIED,
    ],
    ["NIC model e1000e", providerNicModel(NicModelName.E1000E), NicModel.E1000E],
    ["image format ova", providerImageFormat(ImageFormat.OVA), ProviderImageFormat.OVA],
    [
      "image format vhd is the provider's choice",
      providerImageFormat(ImageFormat.VHD),
      ProviderImageFormat.UNSPECIFIED,
    ],
    ["checksum sha512", providerChecksumAlgorithm(ChecksumType.SHA512), ChecksumAlgorithm.SHA512],
    [
      "any other checksum is sha256",
      providerChecksumAlgorithm(ChecksumType.UNSPECIFIED),
      ChecksumAlgorithm.SHA256,
    ],
    ["a linked clone", providerCloneType(CloneType.LINKED_CLONE), ProviderCloneType.LINKED],
    ["any other clone is full", providerCloneType(CloneType.UNSPECIFIED), ProviderCloneType.FULL],
    ["power suspended", observedPower(ProviderPowerState.SUSPENDED), PowerState.SUSPENDED],
    ["power unknown", observedPower(ProviderPowerState.UNSPECIFIED), PowerState.UNSPECIFIED],
    [
      "address from a DHCP lease",
      observedAddressSource(IpSource.DHCP_LEASE),
      AddressSource.DHCP_LEASE,
    ],
  ])("%s", (_name, got, want) => {
    expect(got).toBe(want);
  });
});
