/** A guest address with the MAC of its NIC. */
export interface MacAddress {
  mac: string;
  address: string;
}

/**
 * Parses `virsh domifaddr --full` of any source (agent, lease, arp): a
 * name, MAC, protocol and address/prefix per line; continuation lines of an
 * interface repeat its MAC with --full. Loopback and link-local addresses
 * are left out.
 */
export function parseDomifaddr(output: string): MacAddress[] {
  const found: MacAddress[] = [];
  for (const line of output.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || !/^(ipv4|ipv6)$/.test(fields[2] ?? "")) continue;
    const mac = (fields[1] ?? "").toLowerCase();
    const address = (fields[3] ?? "").split("/")[0] ?? "";
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) || mac === "00:00:00:00:00:00") continue;
    if (address.startsWith("127.") || address === "::1" || address.startsWith("fe80:")) continue;
    found.push({ mac, address });
  }
  return found;
}

const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Parses /proc/net/arp: complete IPv4 entries (flag 0x2) with their MAC. */
export function parseProcArp(output: string): MacAddress[] {
  const found: MacAddress[] = [];
  for (const line of output.split("\n").slice(1)) {
    const [address = "", , flags = "", mac = ""] = line.trim().split(/\s+/);
    if (!ipv4.test(address) || !(Number(flags) & 0x2)) continue;
    found.push({ mac: mac.toLowerCase(), address });
  }
  return found;
}
