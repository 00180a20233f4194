import { type NetworkInterfaceSpec, NetworkType, ProviderError } from "@virtrigaud/contracts";
import {
  InventoryNotFoundError,
  type ManagedObjectReference,
  retrieveOne,
} from "@virtrigaud/vsphere-sdk";
import { toProviderError } from "./errors.js";
import { type ResolvedNic, nicType } from "./nics.js";
import type { VsphereContext } from "./vsphere-context.js";

/** The port group name at the end of an inventory path, its escapes (%2f, %5c, %25) undone. */
function portgroupName(path: string): string {
  const name = path.split("/").at(-1) ?? path;
  return name.replaceAll("%2f", "/").replaceAll("%5c", "\\").replaceAll("%25", "%");
}

/**
 * Resolves the request's NIC `i`: its device type from the model, and the
 * backing of its network (a standard port group, or a distributed port group
 * on its switch).
 *
 * @throws ProviderError INVALID_SPEC at networks[i].network for a network that
 * does not exist, at networks[i].type when the network is of the other kind,
 * at networks[i].model for a model vSphere has not.
 */
export async function resolveNic(
  ctx: VsphereContext,
  nic: NetworkInterfaceSpec,
  i: number,
  signal: AbortSignal,
): Promise<ResolvedNic> {
  const { client } = ctx;
  const field = `networks[${i}]`;
  const type = nicType(nic.model, `${field}.model`);
  let network;
  try {
    network = await ctx.finder.find("network", nic.network, { signal });
  } catch (err) {
    if (err instanceof InventoryNotFoundError) {
      throw ProviderError.invalidSpec(`${field}.network`, err.message, { cause: err });
    }
    throw toProviderError(err);
  }
  const distributed = network.ref.type === "DistributedVirtualPortgroup";
  const actual = distributed ? NetworkType.DISTRIBUTED_PORT_GROUP : NetworkType.PORT_GROUP;
  if (nic.type !== NetworkType.UNSPECIFIED && nic.type !== actual) {
    throw ProviderError.invalidSpec(
      `${field}.type`,
      `${nic.network} is a ${NetworkType[actual]}, not a ${NetworkType[nic.type]}`,
    );
  }
  if (!distributed) {
    return {
      type,
      backing: {
        _type: "VirtualEthernetCardNetworkBackingInfo",
        deviceName: portgroupName(nic.network),
        network: network.ref,
      },
    };
  }
  const pg = await ctx.call(signal, () =>
    retrieveOne(client, network.ref, ["key", "name", "config.distributedVirtualSwitch"], {
      signal,
    }),
  );
  const dvs = pg["config.distributedVirtualSwitch"] as ManagedObjectReference;
  const uuid = await ctx.call(signal, () => retrieveOne(client, dvs, ["uuid"], { signal }));
  ctx.portgroupNames.set(String(pg["key"]), String(pg["name"]));
  return {
    type,
    backing: {
      _type: "VirtualEthernetCardDistributedVirtualPortBackingInfo",
      port: { switchUuid: String(uuid["uuid"]), portgroupKey: String(pg["key"]) },
    },
  };
}
