import type { CloudInit, NetworkInterfaceSpec } from "@virtrigaud/contracts";
import { ProviderError } from "@virtrigaud/contracts";
import { parse, stringify } from "yaml";

/** An extraConfig entry. */
export interface ExtraConfigEntry {
  key: string;
  value: string;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/**
 * The guestinfo entries of cloud-init's VMware datasource: user-data and
 * meta-data base64-encoded (guestinfo.userdata and .encoding, guestinfo.metadata
 * and .encoding). The meta-data gets instance-id and local-hostname unless it
 * sets them, and the network config (the request's, or one written from the
 * NICs' static addresses) goes in its "network" key, base64-encoded.
 *
 * @throws ProviderError INVALID_SPEC naming cloud_init.meta_data or
 * cloud_init.network_config when it is not YAML of the right shape.
 */
export function cloudInitExtraConfig(
  cloudInit: CloudInit | undefined,
  networks: NetworkInterfaceSpec[],
  macs: string[],
  instanceId: string,
  hostname: string,
): ExtraConfigEntry[] {
  const networkConfig = cloudInit?.networkConfig || staticNetworkConfig(networks, macs);
  if (!cloudInit?.userData && !cloudInit?.metaData && !networkConfig) return [];
  let meta: Record<string, unknown> = {};
  if (cloudInit?.metaData) {
    let parsed: unknown;
    try {
      parsed = parse(cloudInit.metaData);
    } catch (err) {
      throw ProviderError.invalidSpec("cloud_init.meta_data", "is not YAML", { cause: err });
    }
    if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) {
      throw ProviderError.invalidSpec("cloud_init.meta_data", "must be a YAML mapping");
    }
    meta = (parsed ?? {}) as Record<string, unknown>;
  }
  meta["instance-id"] ??= instanceId;
  meta["local-hostname"] ??= hostname;
  if (networkConfig) {
    try {
      parse(networkConfig);
    } catch (err) {
      throw ProviderError.invalidSpec("cloud_init.network_config", "is not YAML", { cause: err });
    }
    meta["network"] = b64(networkConfig);
    meta["network.encoding"] = "base64";
  }
  return [
    { key: "guestinfo.metadata", value: b64(stringify(meta)) },
    { key: "guestinfo.metadata.encoding", value: "base64" },
    ...(cloudInit?.userData
      ? [
          { key: "guestinfo.userdata", value: b64(cloudInit.userData) },
          { key: "guestinfo.userdata.encoding", value: "base64" },
        ]
      : []),
  ];
}

/** A network-config v2 document for the NICs with a static address, matched by MAC. */
function staticNetworkConfig(networks: NetworkInterfaceSpec[], macs: string[]): string {
  const ethernets: Record<string, unknown> = {};
  networks.forEach((nic, i) => {
    const ip = nic.staticIp;
    if (!ip) return;
    ethernets[`nic${i}`] = {
      match: { macaddress: macs[i] },
      "set-name": `eth${i}`,
      addresses: [`${ip.address}/${ip.prefixLength}`],
      ...(ip.gateway ? { routes: [{ to: "default", via: ip.gateway }] } : {}),
      ...(ip.dnsServers.length ? { nameservers: { addresses: ip.dnsServers } } : {}),
    };
  });
  return Object.keys(ethernets).length ? stringify({ version: 2, ethernets }) : "";
}
