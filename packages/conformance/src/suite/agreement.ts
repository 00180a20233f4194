import {
  DiskType,
  Firmware,
  IpSource,
  NetworkType,
  NicModel,
  PowerState,
  type VirtualMachine,
} from "@virtrigaud/contracts";
import { expectSuccess } from "./checks.js";
import { canonicalText } from "./render-value.js";
import { CaseFailure, type CaseContext } from "./types.js";

/** A fact about a VM, by the name of the field that holds it ("power_state"), as text. */
type Facts = Map<string, string>;

/** The name of an enum value, or its number when the enum has no such value. */
function enumName(values: Record<number, string>, value: number): string {
  return values[value] ?? String(value);
}

/**
 * What ListVMs and Describe must agree on: the name, power state, resources
 * (CPU, memory, firmware, disks, NICs), labels, tags, the set of addresses,
 * and each address's source and MAC. Left out: the id (the VM is found by
 * it), provider_fields (for people, not logic), and console_url (a URL may
 * carry a one-time ticket).
 */
function factsOf(vm: VirtualMachine): Facts {
  const facts: Facts = new Map();
  const resources = vm.resources;
  facts.set("name", JSON.stringify(vm.name));
  facts.set("power_state", enumName(PowerState, vm.powerState));
  facts.set("resources.cpu", String(resources?.cpu ?? 0));
  facts.set("resources.memory_mib", String(resources?.memoryMib ?? 0));
  facts.set("resources.firmware", enumName(Firmware, resources?.firmware ?? 0));
  facts.set(
    "resources.disks",
    canonicalText(
      (resources?.disks ?? []).map((d) => ({
        name: d.name,
        size_gib: d.sizeGib,
        type: enumName(DiskType, d.type),
      })),
    ),
  );
  facts.set(
    "resources.network_interfaces",
    canonicalText(
      (resources?.networkInterfaces ?? []).map((n) => ({
        network: n.network,
        type: enumName(NetworkType, n.type),
        model: enumName(NicModel, n.model),
        mac_address: n.macAddress,
      })),
    ),
  );
  const labels = Object.entries(vm.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  facts.set("labels", canonicalText(Object.fromEntries(labels)));
  facts.set("tags", canonicalText(vm.tags));
  // Addresses as a set: the same addresses in another order are the same fact.
  const byAddress = new Map<string, Array<{ source: string; mac: string }>>();
  for (const ip of vm.ipAddresses) {
    const entries = byAddress.get(ip.address) ?? [];
    entries.push({ source: enumName(IpSource, ip.source), mac: ip.macAddress });
    byAddress.set(ip.address, entries);
  }
  facts.set("ip_addresses", canonicalText([...byAddress.keys()].sort()));
  for (const [address, entries] of byAddress) {
    facts.set(`ip_addresses[${address}].source`, entries.map((e) => e.source).join(", "));
    facts.set(
      `ip_addresses[${address}].mac_address`,
      JSON.stringify(entries.map((e) => e.mac).join(", ")),
    );
  }
  return facts;
}

/** A fact two readings disagree on. */
interface Disagreement {
  fact: string;
  first: string;
  second: string;
}

/**
 * The facts `first` and `second` disagree on. When the sets of addresses
 * differ, that one fact is reported, not every address's source and MAC.
 */
function disagreements(first: Facts, second: Facts): Disagreement[] {
  const found: Disagreement[] = [];
  for (const fact of new Set([...first.keys(), ...second.keys()])) {
    const a = first.get(fact) ?? "(none)";
    const b = second.get(fact) ?? "(none)";
    if (a !== b) found.push({ fact, first: a, second: b });
  }
  if (found.some((d) => d.fact === "ip_addresses"))
    return found.filter((d) => !d.fact.startsWith("ip_addresses["));
  return found;
}

function formatDisagreements(found: Disagreement[], first: string, second: string): string {
  return found
    .map((d) => `${d.fact}: ${first} says ${d.first}, ${second} says ${d.second}`)
    .join("; ");
}

/** The VM `vmId` as ListVMs lists it under the prefix `name`, or undefined when it does not. */
async function listed(
  t: CaseContext,
  name: string,
  vmId: string,
): Promise<VirtualMachine | undefined> {
  let pageToken = "";
  for (let page = 0; page < 20; page++) {
    const result = await expectSuccess(
      t.client.listVMs({ namePrefix: name, pageToken }, { signal: t.signal }),
      `ListVMs with the prefix ${name}`,
    );
    const found = result.vms.find((vm) => vm.id === vmId);
    if (found || !result.nextPageToken) return found;
    pageToken = result.nextPageToken;
  }
  return undefined;
}

/** Readings in a row that must show the same disagreement before it fails the case. */
const persistentReadings = 3;

/**
 * Checks that ListVMs and Describe report the same facts (`factsOf`) of a
 * VM, and returns what Describe says.
 *
 * Each reading is Describe, ListVMs, Describe. When the two Describes
 * differ the VM was changing (addresses appearing while it boots, say): the
 * reading proves nothing and is taken again. A disagreement between ListVMs
 * and a VM at rest fails the case once it has been seen in
 * `persistentReadings` readings in a row and still holds when the settle
 * time is up, so a provider may list a change a moment after Describe shows
 * it, but not never.
 *
 * @throws CaseFailure naming `when`, each fact that differs and what each RPC
 * said; or that the VM never held still, and what changed.
 */
export async function checkListAgreesWithDescribe(
  t: CaseContext,
  vmId: string,
  when: string,
): Promise<VirtualMachine> {
  const deadline = Date.now() + t.settleMs;
  let disagreed = 0;
  let failure: string;
  for (let delay = 50, reading = 1; ; delay = Math.min(1000, delay * 2), reading++) {
    const before = await t.describe(vmId);
    const inList = await listed(t, before.name, vmId);
    const after = await t.describe(vmId);
    const moved = disagreements(factsOf(before), factsOf(after));
    if (moved.length) {
      disagreed = 0;
      failure = `the VM did not hold still: two Describes in a row differ on ${formatDisagreements(moved, "the first", "the second")}`;
      t.log(`${when}: reading ${reading}: ${failure}; reading again`);
    } else if (!inList) {
      disagreed++;
      failure = `Describe finds ${vmId} (${JSON.stringify(before.name)}) but ListVMs with that name as prefix does not list it`;
    } else {
      const differ = disagreements(factsOf(inList), factsOf(before));
      if (!differ.length) {
        t.log(`${when}: ListVMs and Describe agree (${addressSummary(before)})`);
        return before;
      }
      disagreed++;
      failure = `ListVMs and Describe disagree on ${formatDisagreements(differ, "ListVMs", "Describe")}`;
    }
    if (disagreed > 0) t.log(`${when}: reading ${reading}: ${failure}`);
    const outOfTime = Date.now() + delay > deadline;
    if ((outOfTime && (disagreed === 0 || disagreed >= persistentReadings)) || t.signal.aborted) {
      const span = `${reading} readings over ${t.settleMs / 1000} s`;
      throw new CaseFailure(`${when}: ${failure} (${span})`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * Waits, up to the settle time, for a running VM to report an address (a
 * guest agent starting, a DHCP lease), so the addresses are among the facts
 * compared; logs what it saw. A backend whose VMs have no guest reports none,
 * and the other facts are compared all the same.
 */
export async function waitForAddresses(t: CaseContext, vmId: string): Promise<void> {
  const deadline = Date.now() + t.settleMs;
  for (let delay = 50; ; delay = Math.min(1000, delay * 2)) {
    const vm = await t.describe(vmId);
    if (vm.ipAddresses.length) {
      t.log(`the running VM reports ${addressSummary(vm)}`);
      return;
    }
    if (Date.now() + delay > deadline || t.signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  t.log(`the running VM reported no address within ${t.settleMs / 1000} s: addresses not compared`);
}

function addressSummary(vm: VirtualMachine): string {
  if (!vm.ipAddresses.length) return "no addresses";
  return vm.ipAddresses
    .map(
      (ip) =>
        `${ip.address} ${enumName(IpSource, ip.source)}${ip.macAddress ? ` ${ip.macAddress}` : ""}`,
    )
    .join(", ");
}
