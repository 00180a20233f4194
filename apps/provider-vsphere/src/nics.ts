import { NetworkType, NicModel, ProviderError } from "@virtrigaud/contracts";
import type {
  PropertyValues,
  VirtualDevice,
  VirtualDeviceConfigSpec,
  VirtualEthernetCard,
  VirtualEthernetCardDistributedVirtualPortBackingInfo,
  VirtualEthernetCardNetworkBackingInfo,
} from "@virtrigaud/vsphere-sdk";
import { devicesOf } from "./devices.js";

/** How a NIC attaches: a standard port group's backing, or a distributed port group's. */
export type NicBacking =
  VirtualEthernetCardNetworkBackingInfo | VirtualEthernetCardDistributedVirtualPortBackingInfo;

/** A NIC of a request, resolved: its vSphere device type and its backing. */
export interface ResolvedNic {
  type: string;
  backing: NicBacking;
}

/** vSphere's NIC device types, each with the contract's model (UNSPECIFIED: one it does not name). */
const nicDeviceTypes: ReadonlyArray<readonly [string, NicModel]> = [
  ["VirtualVmxnet3", NicModel.VMXNET3],
  ["VirtualE1000", NicModel.E1000],
  ["VirtualE1000e", NicModel.E1000E],
  ["VirtualVmxnet2", NicModel.UNSPECIFIED],
  ["VirtualPCNet32", NicModel.UNSPECIFIED],
];
const modelOfType = new Map(nicDeviceTypes);
/** The device type the provider adds for each model it can add; VMXNET3 when none is asked. */
const typeOfModel = new Map<NicModel, string>([
  [NicModel.UNSPECIFIED, "VirtualVmxnet3"],
  ...nicDeviceTypes
    .filter(([, model]) => model !== NicModel.UNSPECIFIED)
    .map(([type, model]) => [model, type] as const),
]);

/**
 * The vSphere device type of a NIC model.
 *
 * @throws ProviderError INVALID_SPEC at `field` for a model vSphere has not (virtio, rtl8139).
 */
export function nicType(model: NicModel, field: string): string {
  const type = typeOfModel.get(model);
  if (!type)
    throw ProviderError.invalidSpec(
      field,
      `vSphere has no ${NicModel[model]} NIC; use VMXNET3, E1000 or E1000E`,
    );
  return type;
}

/** The device spec that adds a NIC. */
export function addNic(
  key: number,
  type: string,
  backing: NicBacking,
  mac: string | undefined,
): VirtualDeviceConfigSpec {
  const nic: VirtualEthernetCard = {
    _type: type,
    key,
    backing,
    connectable: { startConnected: true, allowGuestControl: true, connected: false },
    addressType: mac ? "manual" : "generated",
    ...(mac ? { macAddress: mac } : {}),
  };
  return { operation: "add", device: nic };
}

/** A MAC address in VMware's range for manual addresses (00:50:56:00:00:00 to 00:50:56:3f:ff:ff). */
export function manualMac(random: () => number): string {
  const byte = (max: number) =>
    Math.floor(random() * (max + 1))
      .toString(16)
      .padStart(2, "0");
  return `00:50:56:${byte(0x3f)}:${byte(0xff)}:${byte(0xff)}`;
}

/** True for a NIC device. */
export function isEthernetCard(device: VirtualDevice): device is VirtualEthernetCard {
  return modelOfType.has(device._type ?? "") || "macAddress" in device;
}

/** Names of distributed port groups by key, for NICs on a distributed switch. */
export type PortgroupNames = ReadonlyMap<string, string>;

/** The distributed port group keys the VM's NICs use. */
export function portgroupKeysOf(values: PropertyValues): string[] {
  return devicesOf(values)
    .filter(isEthernetCard)
    .map(
      (nic) =>
        (nic.backing as VirtualEthernetCardDistributedVirtualPortBackingInfo | undefined)?.port
          ?.portgroupKey,
    )
    .filter((key): key is string => typeof key === "string");
}

/** The VM's NICs as the contract describes them. */
export function nicsOf(values: PropertyValues, portgroups: PortgroupNames) {
  return devicesOf(values)
    .filter(isEthernetCard)
    .map((nic) => {
      const backing = nic.backing;
      let network = "";
      let type = NetworkType.UNSPECIFIED;
      if (backing?._type === "VirtualEthernetCardDistributedVirtualPortBackingInfo") {
        const key =
          (backing as VirtualEthernetCardDistributedVirtualPortBackingInfo).port.portgroupKey ?? "";
        network = portgroups.get(key) ?? key;
        type = NetworkType.DISTRIBUTED_PORT_GROUP;
      } else if (backing?._type === "VirtualEthernetCardNetworkBackingInfo") {
        network = (backing as VirtualEthernetCardNetworkBackingInfo).deviceName;
        type = NetworkType.PORT_GROUP;
      }
      return {
        network,
        type,
        model: modelOfType.get(nic._type ?? "") ?? NicModel.UNSPECIFIED,
        macAddress: (nic.macAddress ?? "").toLowerCase(),
      };
    });
}
