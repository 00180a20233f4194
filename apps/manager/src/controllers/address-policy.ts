import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { IpAddress } from "@virtrigaud/contracts";
import {
  AddressSource,
  type AddressPolicy,
  AddressSourceSchema,
  type AddressWaitStatus,
  AddressWaitStatusSchema,
  ConditionStatus,
  type GuestAddress,
  GuestAddressSchema,
  type VMClass,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { manifestName } from "../manifest/enum-names.js";
import { durationMs } from "../manifest/quantities.js";
import { observedAddressSource } from "./vocabulary.js";

/** The timeout of a policy that names none. */
const defaultAddressTimeout = "5m";

/** The sources that count when a policy names none: what was seen, not what was configured. */
const defaultAddressSources: readonly AddressSource[] = [
  AddressSource.GUEST_AGENT,
  AddressSource.DHCP_LEASE,
  AddressSource.ARP,
];

/** The address policy in force for a VM, its defaults filled in. */
export interface EffectivePolicy {
  requiredForReady: boolean;
  timeout: string;
  timeoutMs: number;
  sources: readonly AddressSource[];
  from: "VirtualMachine" | "VMClass" | "default";
}

/**
 * The VM's own address policy, else its class's, else the default (Ready
 * does not wait; 5m; GuestAgent, DHCPLease, ARP). A policy is taken whole.
 */
export function effectivePolicy(vm: VirtualMachine, vmClass: VMClass | undefined): EffectivePolicy {
  const own = vm.spec?.addressPolicy;
  const fromClass = vmClass?.spec?.addressPolicy;
  const [policy, from]: [AddressPolicy | undefined, EffectivePolicy["from"]] = own
    ? [own, "VirtualMachine"]
    : fromClass
      ? [fromClass, "VMClass"]
      : [undefined, "default"];
  const timeout = policy?.timeout || defaultAddressTimeout;
  let timeoutMs: number;
  try {
    timeoutMs = durationMs(timeout);
  } catch {
    // Checked at apply; a store written before that check gets the default.
    timeoutMs = durationMs(defaultAddressTimeout);
  }
  return {
    requiredForReady: policy?.requiredForReady ?? false,
    timeout,
    timeoutMs,
    sources: policy?.sources.length ? [...new Set(policy.sources)] : defaultAddressSources,
    from,
  };
}

/** A provider's addresses as the status holds them. */
export function guestAddresses(addresses: readonly IpAddress[]): GuestAddress[] {
  return addresses.map((a) =>
    create(GuestAddressSchema, {
      address: a.address,
      source: observedAddressSource(a.source),
      macAddress: a.macAddress,
    }),
  );
}

/** How a manifest spells a source ("DHCPLease"). */
function sourceName(source: AddressSource): string {
  return manifestName(AddressSourceSchema, source) ?? "Unknown";
}

/** "GuestAgent, DHCPLease or ARP". */
function sourceList(sources: readonly AddressSource[]): string {
  const names = sources.map(sourceName);
  return names.length > 1
    ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`
    : (names[0] ?? "");
}

/** What the address policy says of a VM now: its status, its condition, and when to look again. */
export interface AddressJudgement {
  wait: AddressWaitStatus;
  /** The AddressAssigned condition; undefined while the VM is not running (the condition goes). */
  condition: { status: ConditionStatus; reason: string; message: string } | undefined;
  /** Why Ready must wait (the policy requires an address and there is none), else undefined. */
  holdsReady: { reason: string; message: string } | undefined;
  /** Look again after this long: while waiting, so the address shows soon after it comes. */
  recheckAfterMs: number | undefined;
}

/** How often a running VM that waits for an address is described again. */
const addressPollMs = 1000;

/**
 * Judges a VM's addresses against its policy (a pure function): counted are
 * the addresses from the policy's sources. A running VM without one waits,
 * from the moment it was first seen so, up to the timeout; then its
 * AddressAssigned condition is False (AddressTimeout) naming the sources
 * tried. A running VM with no NIC gets no address: it says so at once
 * (NoNetworkInterface) rather than wait. Ready waits only when the policy
 * requires an address.
 */
export function judgeAddresses(input: {
  policy: EffectivePolicy;
  addresses: readonly GuestAddress[];
  running: boolean;
  /** The VM has a NIC, as its provider reports it: without one no address can come. */
  hasNic: boolean;
  /** When the running VM was first seen without a counted address (from the status), if it was. */
  waitingSince: number | undefined;
  now: number;
}): AddressJudgement {
  const { policy, addresses, running, now } = input;
  const wait = create(AddressWaitStatusSchema, {
    requiredForReady: policy.requiredForReady,
    timeout: policy.timeout,
    sources: [...policy.sources],
    policyFrom: policy.from,
  });
  if (!running)
    return { wait, condition: undefined, holdsReady: undefined, recheckAfterMs: undefined };
  const counted = addresses.filter((a) => policy.sources.includes(a.source));
  if (counted.length) {
    return {
      wait,
      condition: {
        status: ConditionStatus.TRUE,
        reason: "AddressReported",
        message: counted.map((a) => `${a.address} (${sourceName(a.source)})`).join(", "),
      },
      holdsReady: undefined,
      recheckAfterMs: undefined,
    };
  }
  if (!input.hasNic) {
    const message = "the VM has no network interface, so no address can come";
    return {
      wait,
      condition: { status: ConditionStatus.FALSE, reason: "NoNetworkInterface", message },
      holdsReady: policy.requiredForReady ? { reason: "NoNetworkInterface", message } : undefined,
      recheckAfterMs: undefined,
    };
  }
  const since = input.waitingSince ?? now;
  const deadline = since + policy.timeoutMs;
  wait.waitingSince = timestampFromMs(since);
  wait.deadline = timestampFromMs(deadline);
  const tried = sourceList(policy.sources);
  const others = addresses.length
    ? `; reported but not counted: ${addresses.map((a) => `${a.address} (${sourceName(a.source)})`).join(", ")}`
    : "";
  if (now < deadline) {
    const message = `waiting until ${new Date(deadline).toISOString()} for an address from ${tried}${others}`;
    return {
      wait,
      condition: { status: ConditionStatus.UNKNOWN, reason: "WaitingForAddress", message },
      holdsReady: policy.requiredForReady ? { reason: "WaitingForAddress", message } : undefined,
      recheckAfterMs: Math.min(addressPollMs, deadline - now),
    };
  }
  const message = `no address from ${tried} within ${policy.timeout} of running (since ${new Date(since).toISOString()})${others}`;
  return {
    wait,
    condition: { status: ConditionStatus.FALSE, reason: "AddressTimeout", message },
    holdsReady: policy.requiredForReady ? { reason: "AddressTimeout", message } : undefined,
    recheckAfterMs: undefined,
  };
}
