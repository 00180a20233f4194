import { describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { CreateRequestSchema, DiskType, ErrorReason, ProviderError } from "@virtrigaud/contracts";
import type {
  PropertyValues,
  VirtualDevice,
  VirtualDeviceConfigSpec,
  VirtualDisk,
} from "@virtrigaud/vsphere-sdk";
import { scratchSpec } from "./from-scratch.js";
import { templateCustomization } from "./from-template.js";
import type { NewVm } from "./new-vm.js";
import { extraKeys } from "./vm-properties.js";

const gib = 1024 * 1024;
const disk = (key: number, unitNumber: number, sizeGib: number): VirtualDisk => ({
  _type: "VirtualDisk",
  key,
  controllerKey: 1000,
  unitNumber,
  capacityInKB: sizeGib * gib,
});
/** A template's devices: a SCSI controller with a 10 GiB disk on unit 0, and a NIC. */
const templateDevices = (...extra: VirtualDevice[]): PropertyValues => ({
  "config.hardware.device": [
    { _type: "ParaVirtualSCSIController", key: 1000 },
    disk(2000, 0, 10),
    { _type: "VirtualVmxnet3", key: 4000, macAddress: "00:50:56:00:00:09" },
    ...extra,
  ] as VirtualDevice[],
});

const newVm = (fields: Parameters<typeof create<typeof CreateRequestSchema>>[1] = {}): NewVm => ({
  request: create(CreateRequestSchema, { name: "web-1", ...fields }),
  vmId: "7d1c6a8e-0000-4000-8000-000000000001",
  placement: {
    folder: { type: "Folder", value: "group-v3" },
    pool: { type: "ResourcePool", value: "resgroup-8" },
    host: undefined,
    datastore: { ref: { type: "Datastore", value: "datastore-11" }, name: "LocalDS_0" },
  },
  nics: [],
  macs: [],
  compute: { cpu: 2, memoryMB: 2048, firmware: "efi" },
  guestinfo: [{ key: "guestinfo.metadata", value: "e30=" }],
});

const operations = (change: VirtualDeviceConfigSpec[] | undefined) =>
  (change ?? []).map((c) => [c.operation, c.device._type, c.device.key, c.device.unitNumber]);

describe("templateCustomization", () => {
  it("grows the root disk and adds data disks on the template's controller's free units", () => {
    const spec = templateCustomization(
      newVm({
        rootDiskSizeGib: 20,
        disks: [
          { name: "data", sizeGib: 5 },
          { name: "logs", sizeGib: 1 },
        ],
      }),
      templateDevices(disk(2001, 1, 1)),
      true,
    );
    expect(operations(spec.deviceChange)).toEqual([
      ["edit", "VirtualDisk", 2000, 0],
      ["add", "VirtualDisk", -200, 2],
      ["add", "VirtualDisk", -201, 3],
    ]);
    expect(spec).toMatchObject({
      numCPUs: 2,
      memoryMB: 2048,
      firmware: "efi",
      cpuHotAddEnabled: true,
      memoryHotAddEnabled: true,
    });
    expect(spec.extraConfig).toEqual([
      { key: "guestinfo.metadata", value: "e30=" },
      // The template's second disk had no name the provider gave: it is disk1.
      { key: extraKeys.diskNames, value: JSON.stringify(["root", "disk1", "data", "logs"]) },
      { key: extraKeys.labels, value: "{}" },
      { key: extraKeys.tags, value: "[]" },
    ]);
  });

  it("adds a SCSI controller to a template without one, and leaves a big enough root disk", () => {
    const spec = templateCustomization(
      newVm({ rootDiskSizeGib: 5, disks: [{ name: "data", sizeGib: 5, type: DiskType.THICK }] }),
      { "config.hardware.device": [] },
      false,
    );
    expect(operations(spec.deviceChange)).toEqual([
      ["add", "ParaVirtualSCSIController", -100, undefined],
      ["add", "VirtualDisk", -200, 0],
    ]);
    expect(spec.cpuHotAddEnabled).toBeUndefined();
  });

  it("replaces the template's NICs only when the request has some", () => {
    expect(
      operations(templateCustomization(newVm(), templateDevices(), true).deviceChange),
    ).toEqual([]);
    const vm = {
      ...newVm({ networks: [{ network: "VM Network" }] }),
      nics: [
        {
          type: "VirtualE1000e",
          backing: {
            _type: "VirtualEthernetCardNetworkBackingInfo",
            deviceName: "VM Network",
          },
        },
      ],
      macs: [""],
    };
    expect(operations(templateCustomization(vm, templateDevices(), true).deviceChange)).toEqual([
      ["remove", "VirtualVmxnet3", 4000, undefined],
      ["add", "VirtualE1000e", -300, undefined],
    ]);
  });

  it("refuses more data disks than the controller has free units", () => {
    const disks = Array.from({ length: 15 }, (_, i) => ({ name: `d${i}`, sizeGib: 1 }));
    try {
      templateCustomization(newVm({ disks }), templateDevices(), true);
      throw new Error("no error");
    } catch (err) {
      expect(ProviderError.is(err, ErrorReason.INVALID_SPEC)).toBe(true);
      expect((err as ProviderError).field).toBe("disks[14]");
    }
  });
});

describe("scratchSpec", () => {
  it("makes a controller, a thin root disk and the data disks on the datastore, and names them", () => {
    const spec = scratchSpec(
      newVm({ rootDiskSizeGib: 8, disks: [{ name: "data", sizeGib: 2 }], labels: { app: "web" } }),
      "LocalDS_0",
      true,
    );
    expect(spec).toMatchObject({
      name: "web-1",
      instanceUuid: "7d1c6a8e-0000-4000-8000-000000000001",
      guestId: "otherLinux64Guest",
      files: { vmPathName: "[LocalDS_0]" },
      numCPUs: 2,
    });
    expect(operations(spec.deviceChange)).toEqual([
      ["add", "ParaVirtualSCSIController", -100, undefined],
      ["add", "VirtualDisk", -200, 0],
      ["add", "VirtualDisk", -201, 1],
    ]);
    expect(spec.extraConfig).toContainEqual({
      key: extraKeys.diskNames,
      value: JSON.stringify(["root", "data"]),
    });
    expect(spec.extraConfig).toContainEqual({ key: extraKeys.labels, value: '{"app":"web"}' });
  });
});
