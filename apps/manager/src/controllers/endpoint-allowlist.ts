import { BlockList, isIP } from "node:net";

/**
 * Where Provider endpoints may point (--provider-endpoints): host names,
 * `*.domain` patterns (any name ending in ".domain") and networks (CIDR, or
 * one address). Parse it with `parseEndpointAllowlist`.
 */
export interface EndpointAllowlist {
  /** The list as the operator wrote it, for messages. */
  readonly text: string;
  readonly names: ReadonlySet<string>;
  /** ".domain" of each `*.domain`. */
  readonly suffixes: readonly string[];
  /** The networks and addresses; empty when the list names none. */
  readonly networks: BlockList;
  readonly hasNetworks: boolean;
}

const hostName =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

function family(address: string): "ipv4" | "ipv6" {
  return isIP(address) === 6 ? "ipv6" : "ipv4";
}

/**
 * Parses a comma-separated list of host names, `*.domain` patterns, IP
 * addresses and CIDR networks (IPv4 or IPv6).
 *
 * @throws Error naming the entry that is none of these.
 */
export function parseEndpointAllowlist(text: string): EndpointAllowlist {
  const names = new Set<string>();
  const suffixes: string[] = [];
  const networks = new BlockList();
  let hasNetworks = false;
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error("names no host, pattern or network");
  for (const entry of entries) {
    const bad = () =>
      new Error(
        `${JSON.stringify(entry.slice(0, 100))} is no host name, *.domain pattern, IP address or CIDR network`,
      );
    const lower = entry.toLowerCase().replace(/^\[(.*)\]$/, "$1");
    const slash = lower.indexOf("/");
    if (slash >= 0) {
      const address = lower.slice(0, slash);
      const bitsText = lower.slice(slash + 1);
      const bits = Number(bitsText);
      const max = isIP(address) === 6 ? 128 : 32;
      if (!isIP(address) || !/^\d{1,3}$/.test(bitsText) || bits > max) throw bad();
      networks.addSubnet(address, bits, family(address));
      hasNetworks = true;
    } else if (isIP(lower)) {
      networks.addAddress(lower, family(lower));
      hasNetworks = true;
    } else if (lower.startsWith("*.") && hostName.test(lower.slice(2))) {
      suffixes.push(lower.slice(1));
    } else if (hostName.test(lower)) {
      names.add(lower);
    } else throw bad();
  }
  return { text: entries.join(","), names, suffixes, networks, hasNetworks };
}

/** An address as BlockList takes it: IPv4-mapped IPv6 as IPv4. */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

function addressAllowed(list: EndpointAllowlist, address: string): boolean {
  const plain = plainAddress(address);
  return list.networks.check(plain, family(plain));
}

/**
 * Why an endpoint's host is outside the list, or undefined when it is in
 * it: an IP address must be in a listed network, a name must be listed or
 * match a pattern.
 */
export function judgeEndpointHost(list: EndpointAllowlist, host: string): string | undefined {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare)) {
    if (addressAllowed(list, bare)) return undefined;
    return `the address ${bare} is in no network of --provider-endpoints (${list.text})`;
  }
  const name = bare.replace(/\.$/, "");
  if (list.names.has(name) || list.suffixes.some((s) => name.endsWith(s))) return undefined;
  return `the host ${name} is not listed by --provider-endpoints (${list.text})`;
}

/**
 * Why the addresses a listed host name resolved to are not all allowed, or
 * undefined when they are: each must be in a listed network. A list of names
 * only names no network, and then DNS is trusted for the names it lists.
 */
export function judgeResolvedAddresses(
  list: EndpointAllowlist,
  host: string,
  addresses: readonly string[],
): string | undefined {
  if (!list.hasNetworks) return undefined;
  if (addresses.length === 0) return `the host ${host} resolves to no address`;
  const outside = addresses.filter((a) => !addressAllowed(list, a));
  if (outside.length === 0) return undefined;
  return `the host ${host} resolves to ${outside.slice(0, 3).join(", ")}, in no network of --provider-endpoints (${list.text})`;
}
