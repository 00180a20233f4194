import { ProviderError } from "@virtrigaud/contracts";
import { isMap, parseDocument, stringify } from "yaml";

/** A static address of one NIC, as the request gives it. */
export interface StaticNic {
  mac: string;
  address: string;
  prefixLength: number;
  gateway: string;
  dnsServers: readonly string[];
}

/** The files of a NoCloud seed (volume label `cidata`). */
export interface SeedDocuments {
  "user-data": string;
  "meta-data": string;
  /** Absent when there is nothing to configure (cloud-init then does DHCP). */
  "network-config"?: string;
}

/**
 * The meta-data document: the user's meta-data with `instance-id` and
 * `local-hostname` added. Keys the user set win, so a user can pin an
 * instance-id; every other key is kept as written. The result is written by
 * a YAML library, so a name holding YAML syntax stays a plain string.
 *
 * @throws ProviderError INVALID_SPEC (field cloud_init.meta_data) when the
 * user's document is not YAML or not a mapping.
 */
export function buildMetaData(userMetaData: string, instanceId: string, hostname: string): string {
  const doc = parseDocument(userMetaData || "{}");
  if (doc.errors.length) {
    throw ProviderError.invalidSpec(
      "cloud_init.meta_data",
      `is not YAML: ${doc.errors[0]?.message ?? "parse error"}`,
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw ProviderError.invalidSpec("cloud_init.meta_data", "must be a YAML mapping");
  }
  const merged: Record<string, unknown> = {
    "instance-id": instanceId,
    "local-hostname": hostname,
    ...((doc.toJS() as Record<string, unknown> | null) ?? {}),
  };
  return stringify(merged);
}

/**
 * A network-config (version 2) for the request's NICs: static addresses
 * where given, DHCP on the others, each NIC matched by its MAC address.
 * Undefined when no NIC has a static address.
 */
export function buildNetworkConfig(
  nics: ReadonlyArray<{ mac: string; staticIp: StaticNic | undefined }>,
): string | undefined {
  if (!nics.some((n) => n.staticIp)) return undefined;
  const ethernets: Record<string, unknown> = {};
  nics.forEach((nic, i) => {
    const id = `nic${i}`;
    const base = { match: { macaddress: nic.mac.toLowerCase() }, "set-name": `eth${i}` };
    const ip = nic.staticIp;
    if (!ip) {
      ethernets[id] = { ...base, dhcp4: true };
      return;
    }
    const v6 = ip.address.includes(":");
    ethernets[id] = {
      ...base,
      ...(v6 ? { dhcp6: false } : { dhcp4: false }),
      addresses: [`${ip.address}/${ip.prefixLength}`],
      ...(ip.gateway ? { routes: [{ to: v6 ? "::/0" : "0.0.0.0/0", via: ip.gateway }] } : {}),
      ...(ip.dnsServers.length ? { nameservers: { addresses: [...ip.dnsServers] } } : {}),
    };
  });
  return stringify({ version: 2, ethernets });
}

/**
 * The seed's files. `user-data` is passed as written (cloud-init reads
 * `#cloud-config`, scripts and MIME); an empty one becomes an empty
 * `#cloud-config`. A user's network-config wins over the generated one.
 *
 * @throws ProviderError INVALID_SPEC for a meta-data or network-config that is not a YAML mapping.
 */
export function buildSeedDocuments(input: {
  userData: string;
  metaData: string;
  networkConfig: string;
  instanceId: string;
  hostname: string;
  nics: ReadonlyArray<{ mac: string; staticIp: StaticNic | undefined }>;
}): SeedDocuments {
  let networkConfig = input.networkConfig || undefined;
  if (networkConfig) {
    const doc = parseDocument(networkConfig);
    if (doc.errors.length || !isMap(doc.contents)) {
      throw ProviderError.invalidSpec("cloud_init.network_config", "must be a YAML mapping");
    }
  } else {
    networkConfig = buildNetworkConfig(input.nics);
  }
  return {
    "user-data": input.userData || "#cloud-config\n",
    "meta-data": buildMetaData(input.metaData, input.instanceId, input.hostname),
    ...(networkConfig ? { "network-config": networkConfig } : {}),
  };
}
