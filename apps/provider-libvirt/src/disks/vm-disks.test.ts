import { expect, it } from "@jest/globals";
import type { DomainInfo } from "../xml/parse-domain.js";
import { parseBlkInfo, vmDisks } from "./vm-disks.js";

it("lists disks boot disk first, without CD-ROMs, named by the metadata", () => {
  const disk = (target: string, device = "disk", format = "qcow2") => ({
    device,
    target,
    bus: "virtio",
    path: `/pool/${target}`,
    format,
    backing: [],
  });
  const info = {
    disks: [disk("vda"), disk("sda", "cdrom", "raw"), disk("vdb", "disk", "")],
    owner: { disks: { vdb: "data" } },
  } as unknown as DomainInfo;
  expect(vmDisks(info)).toEqual([
    { name: "root", target: "vda", path: "/pool/vda", format: "qcow2", index: 0 },
    { name: "data", target: "vdb", path: "/pool/vdb", format: "raw", index: 1 },
  ]);
});

it("reads capacity and allocation from domblkinfo", () => {
  expect(
    parseBlkInfo("Capacity:       2147483648\nAllocation:     200704\nPhysical:       200704\n"),
  ).toEqual({
    capacity: 2147483648,
    allocation: 200704,
  });
  expect(parseBlkInfo("")).toEqual({ capacity: 0, allocation: 0 });
});
