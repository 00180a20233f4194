import { describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import {
  DiskType,
  ErrorReason,
  ProviderError,
  ReconfigureRequestSchema,
} from "@virtrigaud/contracts";
import { type ReconfigureTarget, planReconfigure } from "./plan-reconfigure.js";

const vm = (over: Partial<ReconfigureTarget> = {}): ReconfigureTarget => ({
  id: "vm-1",
  config: { cpu: 2, memoryMib: 2048, disks: [{ name: "root", sizeGib: 10, type: DiskType.THIN }] },
  pending: undefined,
  running: false,
  onlineReconfigure: true,
  onlineDiskGrow: true,
  ...over,
});
const request = (fields: Parameters<typeof create<typeof ReconfigureRequestSchema>>[1]) =>
  create(ReconfigureRequestSchema, { vmId: "vm-1", ...fields });

describe("planReconfigure", () => {
  it("plans nothing when every target is met", () => {
    expect(planReconfigure(vm(), request({ cpu: 2, memoryMib: 2048 }))).toBeUndefined();
    expect(planReconfigure(vm(), request({ disks: [{ name: "root", sizeGib: 10 }] }))).toBe(
      undefined,
    );
  });

  it("changes a stopped VM now", () => {
    expect(planReconfigure(vm(), request({ cpu: 4 }))).toEqual({
      now: { cpu: 4 },
      later: {},
      powerCycleRequired: false,
    });
  });

  it("keeps for the next power cycle what a running VM cannot take online", () => {
    const plan = planReconfigure(
      vm({ running: true, onlineReconfigure: false }),
      request({ memoryMib: 4096, disks: [{ name: "root", sizeGib: 20 }] }),
    );
    expect(plan).toEqual({
      now: { disks: [{ name: "root", sizeGib: 20, type: DiskType.THIN }] },
      later: { memoryMib: 4096 },
      powerCycleRequired: true,
    });
  });

  it("compares with what is pending, not only with the configuration", () => {
    expect(planReconfigure(vm({ pending: { cpu: 4 } }), request({ cpu: 4 }))).toBeUndefined();
  });

  it("refuses an unknown disk and a shrink, naming the field", () => {
    const reasonOf = (fields: Parameters<typeof request>[0]) => {
      try {
        planReconfigure(vm(), request(fields));
      } catch (err) {
        return ProviderError.is(err, ErrorReason.INVALID_SPEC) ? err.field : "other";
      }
      return "none";
    };
    expect(reasonOf({ disks: [{ name: "data", sizeGib: 5 }] })).toBe("disks[0].name");
    expect(reasonOf({ disks: [{ name: "root", sizeGib: 5 }] })).toBe("disks[0].size_gib");
  });
});
