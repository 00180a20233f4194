import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "@jest/globals";
import { IpSource } from "@virtrigaud/contracts";
import {
  AddressSource,
  ConditionStatus,
  GuestAddressSchema,
  VMClassSchema,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import {
  type EffectivePolicy,
  effectivePolicy,
  guestAddresses,
  judgeAddresses,
} from "./address-policy.js";

const lease = create(GuestAddressSchema, {
  address: "10.0.0.5",
  source: AddressSource.DHCP_LEASE,
  macAddress: "52:54:00:00:00:01",
});
const configured = create(GuestAddressSchema, {
  address: "10.0.1.5",
  source: AddressSource.STATIC,
  macAddress: "52:54:00:00:00:02",
});

const policy = (overrides: Partial<EffectivePolicy> = {}): EffectivePolicy => ({
  requiredForReady: true,
  timeout: "2m",
  timeoutMs: 120_000,
  sources: [AddressSource.GUEST_AGENT, AddressSource.DHCP_LEASE, AddressSource.ARP],
  from: "VirtualMachine",
  ...overrides,
});

describe("effectivePolicy", () => {
  const vm = (addressPolicy?: object) =>
    create(VirtualMachineSchema, { spec: addressPolicy ? { addressPolicy } : {} });
  const vmClass = (addressPolicy?: object) =>
    create(VMClassSchema, { spec: addressPolicy ? { cpu: 1, addressPolicy } : { cpu: 1 } });

  it("defaults to no wait for Ready, 5m, and the sources that observe", () => {
    expect(effectivePolicy(vm(), vmClass())).toEqual({
      requiredForReady: false,
      timeout: "5m",
      timeoutMs: 300_000,
      sources: [AddressSource.GUEST_AGENT, AddressSource.DHCP_LEASE, AddressSource.ARP],
      from: "default",
    });
  });

  it("takes the class's policy, and a VM's own whole over it", () => {
    const cls = vmClass({ requiredForReady: true, timeout: "90s" });
    expect(effectivePolicy(vm(), cls)).toMatchObject({
      requiredForReady: true,
      timeoutMs: 90_000,
      from: "VMClass",
    });
    // The VM's policy replaces the class's: its unset fields take the defaults, not the class's.
    expect(effectivePolicy(vm({ sources: [AddressSource.STATIC] }), cls)).toMatchObject({
      requiredForReady: false,
      timeout: "5m",
      sources: [AddressSource.STATIC],
      from: "VirtualMachine",
    });
  });
});

describe("guestAddresses", () => {
  it("keeps each provider address with its source and MAC", () => {
    const out = guestAddresses([
      { address: "10.0.0.5", source: IpSource.GUEST_AGENT, macAddress: "m1" },
      { address: "10.0.0.6", source: IpSource.DHCP_LEASE, macAddress: "m2" },
      { address: "10.0.0.7", source: IpSource.ARP, macAddress: "m3" },
      { address: "10.0.0.8", source: IpSource.STATIC, macAddress: "m4" },
    ] as never);
    expect(out.map((a) => [a.address, a.source, a.macAddress])).toEqual([
      ["10.0.0.5", AddressSource.GUEST_AGENT, "m1"],
      ["10.0.0.6", AddressSource.DHCP_LEASE, "m2"],
      ["10.0.0.7", AddressSource.ARP, "m3"],
      ["10.0.0.8", AddressSource.STATIC, "m4"],
    ]);
  });
});

describe("judgeAddresses", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");

  it.each([
    {
      case: "an address from a counted source: assigned, nothing held, no recheck",
      input: { addresses: [lease], running: true, waitingSince: now - 5_000 },
      condition: [ConditionStatus.TRUE, "AddressReported", "10.0.0.5 (DHCPLease)"],
      holds: undefined,
      recheck: undefined,
      waiting: false,
    },
    {
      case: "none yet: waiting from now, Ready held, a recheck within a second",
      input: { addresses: [], running: true, waitingSince: undefined },
      condition: [ConditionStatus.UNKNOWN, "WaitingForAddress", "2026-01-01T00:12:00.000Z"],
      holds: "WaitingForAddress",
      recheck: 1000,
      waiting: true,
    },
    {
      case: "only an uncounted source (Static): still waiting, and it says what was not counted",
      input: { addresses: [configured], running: true, waitingSince: now - 60_000 },
      condition: [ConditionStatus.UNKNOWN, "WaitingForAddress", "not counted: 10.0.1.5 (Static)"],
      holds: "WaitingForAddress",
      recheck: 1000,
      waiting: true,
    },
    {
      case: "the recheck never overshoots the deadline",
      input: { addresses: [], running: true, waitingSince: now - 119_700 },
      condition: [ConditionStatus.UNKNOWN, "WaitingForAddress", ""],
      holds: "WaitingForAddress",
      recheck: 300,
      waiting: true,
    },
    {
      case: "past the timeout: AddressTimeout naming the sources tried, no more rechecks",
      input: { addresses: [], running: true, waitingSince: now - 120_000 },
      condition: [
        ConditionStatus.FALSE,
        "AddressTimeout",
        "no address from GuestAgent, DHCPLease or ARP within 2m",
      ],
      holds: "AddressTimeout",
      recheck: undefined,
      waiting: true,
    },
    {
      case: "not running: no condition, no wait",
      input: { addresses: [], running: false, waitingSince: now - 500_000 },
      condition: undefined,
      holds: undefined,
      recheck: undefined,
      waiting: false,
    },
  ])("$case", ({ input, condition, holds, recheck, waiting }) => {
    const judged = judgeAddresses({ policy: policy(), now, hasNic: true, ...input });
    if (condition) {
      expect([judged.condition?.status, judged.condition?.reason]).toEqual(condition.slice(0, 2));
      expect(judged.condition?.message).toContain(condition[2]);
    } else expect(judged.condition).toBeUndefined();
    expect(judged.holdsReady?.reason).toBe(holds);
    expect(judged.recheckAfterMs).toBe(recheck);
    expect(judged.wait.waitingSince !== undefined).toBe(waiting);
    if (waiting && judged.wait.deadline && judged.wait.waitingSince)
      expect(timestampMs(judged.wait.deadline) - timestampMs(judged.wait.waitingSince)).toBe(
        120_000,
      );
    expect(judged.wait).toMatchObject({ requiredForReady: true, timeout: "2m" });
  });

  it("says at once that a running VM without a NIC gets no address, and does not poll", () => {
    const judged = judgeAddresses({
      policy: policy(),
      addresses: [],
      running: true,
      hasNic: false,
      waitingSince: undefined,
      now,
    });
    expect([judged.condition?.status, judged.condition?.reason]).toEqual([
      ConditionStatus.FALSE,
      "NoNetworkInterface",
    ]);
    expect(judged.holdsReady?.reason).toBe("NoNetworkInterface");
    expect(judged.recheckAfterMs).toBeUndefined();
  });

  it("holds Ready only when the policy requires an address", () => {
    const judged = judgeAddresses({
      hasNic: true,
      policy: policy({ requiredForReady: false }),
      addresses: [],
      running: true,
      waitingSince: now - 500_000,
      now,
    });
    expect(judged.condition?.reason).toBe("AddressTimeout");
    expect(judged.holdsReady).toBeUndefined();
  });

  it("counts Static when the policy lists it", () => {
    const judged = judgeAddresses({
      hasNic: true,
      policy: policy({ sources: [AddressSource.STATIC] }),
      addresses: [lease, configured],
      running: true,
      waitingSince: undefined,
      now,
    });
    expect(judged.condition?.message).toBe("10.0.1.5 (Static)");
  });
});
