import { describe, expect, it } from "@jest/globals";
import { NetworkType, NicModel, ProviderError } from "@virtrigaud/contracts";
import type { PropertyValues, VirtualDevice } from "@virtrigaud/vsphere-sdk";
import { addNic, isEthernetCard, manualMac, nicType, nicsOf, portgroupKeysOf } from "./nics.js";

describe("nicType", () => {
  it("adds VMXNET3 unless another model vSphere has is asked", () => {
    expect(nicType(NicModel.UNSPECIFIED, "f")).toBe("VirtualVmxnet3");
    expect(nicType(NicModel.VMXNET3, "f")).toBe("VirtualVmxnet3");
    expect(nicType(NicModel.E1000, "f")).toBe("VirtualE1000");
    expect(nicType(NicModel.E1000E, "f")).toBe("VirtualE1000e");
  });

  it("refuses a model vSphere has not, naming the field", () => {
    for (const model of [NicModel.VIRTIO, NicModel.RTL8139]) {
      expect(() => nicType(model, "networks[1].model")).toThrow(ProviderError);
      try {
        nicType(model, "networks[1].model");
      } catch (err) {
        expect((err as ProviderError).field).toBe("networks[1].model");
      }
    }
  });
});

describe("reading NICs", () => {
  const devices: VirtualDevice[] = [
    // As the provider adds it.
    addNic(
      4000,
      "VirtualE1000e",
      { _type: "VirtualEthernetCardNetworkBackingInfo", deviceName: "VM Network" },
      "00:50:56:AA:BB:CC",
    ).device,
    {
      _type: "VirtualVmxnet2",
      key: 4001,
      macAddress: "00:50:56:00:00:01",
      backing: {
        _type: "VirtualEthernetCardDistributedVirtualPortBackingInfo",
        port: { switchUuid: "dvs", portgroupKey: "dvportgroup-13" },
      },
    } as VirtualDevice,
    { _type: "VirtualDisk", key: 2000 },
  ];
  const values: PropertyValues = { "config.hardware.device": devices };

  it("knows NICs from other devices", () => {
    expect(devices.map(isEthernetCard)).toEqual([true, true, false]);
  });

  it("reports each NIC's network, kind, model and MAC, port groups by name", () => {
    expect(portgroupKeysOf(values)).toEqual(["dvportgroup-13"]);
    expect(nicsOf(values, new Map([["dvportgroup-13", "DC0_DVPG0"]]))).toEqual([
      {
        network: "VM Network",
        type: NetworkType.PORT_GROUP,
        model: NicModel.E1000E,
        macAddress: "00:50:56:aa:bb:cc",
      },
      {
        network: "DC0_DVPG0",
        type: NetworkType.DISTRIBUTED_PORT_GROUP,
        model: NicModel.UNSPECIFIED,
        macAddress: "00:50:56:00:00:01",
      },
    ]);
  });
});

describe("manualMac", () => {
  it("stays in VMware's range for manual addresses", () => {
    expect(manualMac(() => 0)).toBe("00:50:56:00:00:00");
    expect(manualMac(() => 0.9999)).toBe("00:50:56:3f:ff:ff");
  });
});
