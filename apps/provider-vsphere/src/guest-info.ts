import { IpSource, type IpAddressSchema } from "@virtrigaud/contracts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GuestNicInfo, PropertyValues } from "@virtrigaud/vsphere-sdk";

/** The guest properties Describe and ListVMs read: what VMware Tools report. */
export const guestPaths = [
  "guest.net",
  "guest.ipAddress",
  "guest.hostName",
  "guest.toolsRunningStatus",
];

/** Loopback and link-local addresses: no one outside the guest reaches them (as provider-libvirt). */
function isLocalOnly(address: string): boolean {
  const lower = address.toLowerCase();
  return (
    lower.startsWith("127.") ||
    lower.startsWith("169.254.") ||
    lower === "::1" ||
    /^fe[89ab][0-9a-f]:/.test(lower)
  );
}

/**
 * The guest's addresses as VMware Tools report them (guest.net, then
 * guest.ipAddress), each once and tagged GUEST_AGENT with the MAC of the
 * NIC that holds it. Only while the VM is on: vCenter may keep what Tools
 * said last. Only addresses on the VM's own NICs (`nicMacs`): Tools also
 * report interfaces inside the guest (container bridges, with
 * deviceConfigId -1), and a guest bridge over a NIC takes that NIC's MAC.
 * guest.ipAddress, with no MAC, only when guest.net does not list it at all.
 */
export function guestAddressesOf(
  values: PropertyValues,
  nicMacs: ReadonlySet<string>,
): Array<MessageInitShape<typeof IpAddressSchema>> {
  if (values["runtime.powerState"] !== "poweredOn") return [];
  const found: Array<MessageInitShape<typeof IpAddressSchema>> = [];
  const seen = new Set<string>();
  const add = (address: string, macAddress: string) => {
    if (!address || seen.has(address) || isLocalOnly(address)) return;
    seen.add(address);
    found.push({ address, source: IpSource.GUEST_AGENT, macAddress });
  };
  const reported = new Set<string>();
  for (const nic of (values["guest.net"] as GuestNicInfo[] | undefined) ?? []) {
    const mac = (nic.macAddress ?? "").toLowerCase();
    const addresses = [
      ...(nic.ipConfig?.ipAddress ?? []).map((a) => a.ipAddress),
      ...(nic.ipAddress ?? []),
    ];
    for (const address of addresses) reported.add(address);
    if (nicMacs.has(mac)) for (const address of addresses) add(address, mac);
  }
  const primary = values["guest.ipAddress"];
  if (typeof primary === "string" && !reported.has(primary)) add(primary, "");
  return found;
}

/** What else Tools report, for provider_fields: the guest's hostname, and whether Tools run. */
export function guestFieldsOf(values: PropertyValues): Record<string, string> {
  const hostname = values["guest.hostName"];
  const tools = values["guest.toolsRunningStatus"];
  return {
    ...(typeof hostname === "string" && hostname ? { guestHostname: hostname } : {}),
    ...(typeof tools === "string" && tools ? { toolsRunningStatus: tools } : {}),
  };
}
