import { describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { ErrorReason, ProviderError, ReconfigureRequestSchema } from "@virtrigaud/contracts";
import { type ReconfigureTarget, planReconfigure } from "./plan-reconfigure.js";
import type { DomainInfo } from "./xml/parse-domain.js";

const GiB = 1024 ** 3;

function info(over: Partial<DomainInfo> = {}): DomainInfo {
  return {
    uuid: "5b6f1c1e-6c1b-4d8e-9c39-0d1f1f5e2a11",
    name: "web-1",
    type: "qemu",
    vcpus: 2,
    maxVcpus: 4,
    memoryMib: 1024,
    maxMemoryMib: 2048,
    firmware: "bios",
    disks: [
      {
        device: "disk",
        target: "vda",
        bus: "virtio",
        path: "/pool/web-1-root.qcow2",
        format: "qcow2",
        backing: [],
      },
    ],
    nics: [],
    vnc: undefined,
    hasVnc: false,
    agentConnected: false,
    owner: undefined,
    ...over,
  };
}

function target(over: Partial<ReconfigureTarget> = {}): ReconfigureTarget {
  return {
    info: info(),
    persistent: info(),
    stats: {
      name: "web-1",
      state: 5,
      vcpus: 2,
      blocks: { vda: { path: "/pool/web-1-root.qcow2", capacityBytes: 10 * GiB } },
      fingerprint: "",
    },
    running: false,
    headroom: 2,
    ...over,
  };
}

const request = (fields: Parameters<typeof create<typeof ReconfigureRequestSchema>>[1]) =>
  create(ReconfigureRequestSchema, { vmId: "web-1", ...fields });
const uuid = info().uuid;

describe("planReconfigure", () => {
  it("plans nothing when every target is met", () => {
    expect(
      planReconfigure(
        target(),
        request({ cpu: 2, memoryMib: 1024, disks: [{ name: "root", sizeGib: 10 }] }),
      ),
    ).toBeUndefined();
  });

  it("changes a stopped domain's definition, and its volume with vol-resize", () => {
    expect(
      planReconfigure(
        target({ headroom: 1 }),
        request({ cpu: 3, disks: [{ name: "root", sizeGib: 20 }] }),
      ),
    ).toEqual({
      commands: [
        ["setvcpus", { domain: uuid, count: 3, config: true }],
        ["vol-resize", { vol: "/pool/web-1-root.qcow2", capacity: "20G" }],
      ],
      powerCycleRequired: false,
    });
  });

  it("raises the maximum with headroom when the target passes it", () => {
    const plan = planReconfigure(target(), request({ cpu: 6 }));
    expect(plan?.commands).toEqual([
      ["setvcpus", { domain: uuid, count: 12, maximum: true, config: true }],
      ["setvcpus", { domain: uuid, count: 6, config: true }],
    ]);
  });

  it("changes a running domain live within its maximum, and grows its disk with blockresize", () => {
    const plan = planReconfigure(
      target({ running: true, headroom: 1 }),
      request({ cpu: 4, disks: [{ name: "root", sizeGib: 20 }] }),
    );
    expect(plan).toEqual({
      commands: [
        ["setvcpus", { domain: uuid, count: 4, config: true }],
        ["setvcpus", { domain: uuid, count: 4, live: true }],
        ["blockresize", { domain: uuid, path: "vda", size: "20G" }],
      ],
      powerCycleRequired: false,
    });
  });

  it("keeps what passes a running domain's maximum for its next boot", () => {
    const plan = planReconfigure(target({ running: true }), request({ memoryMib: 4096 }));
    expect(plan?.powerCycleRequired).toBe(true);
    expect(plan?.commands).toEqual([
      ["setmaxmem", { domain: uuid, size: "8192M", config: true }],
      ["setmem", { domain: uuid, size: "4096M", config: true }],
    ]);
  });

  it("refuses an unknown disk and a shrink, naming the field", () => {
    const fieldOf = (fields: Parameters<typeof request>[0]) => {
      try {
        planReconfigure(target(), request(fields));
      } catch (err) {
        return ProviderError.is(err, ErrorReason.INVALID_SPEC) ? err.field : "other";
      }
      return "none";
    };
    expect(fieldOf({ disks: [{ name: "data", sizeGib: 5 }] })).toBe("disks[0].name");
    expect(fieldOf({ disks: [{ name: "root", sizeGib: 5 }] })).toBe("disks[0].size_gib");
  });
});
