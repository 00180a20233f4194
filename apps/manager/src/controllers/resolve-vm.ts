import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type CreateRequestSchema,
  type ImageSourceSchema,
  type NetworkInterfaceSpecSchema,
  NetworkType,
  type NicModel,
} from "@virtrigaud/contracts";
import {
  DiskType,
  Firmware,
  Kind,
  type Provider as ProviderResource,
  ProviderType,
  type VMClass,
  type VMImage,
  type VMNetworkAttachment,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { quantityGiB, quantityMiB } from "../manifest/quantities.js";
import type { ResourceStore } from "../store/resource-store.js";
import {
  type CloudInitUnresolved,
  type ReadSecret,
  resolveCloudInit,
} from "./cloud-init-sources.js";
import { providerVmName } from "./provider-names.js";
import { vmReferences } from "./references.js";
import { providerDiskType, providerFirmware, providerNicModel } from "./vocabulary.js";

/** Labels the manager puts on every VM it creates, to recognise it later. */
export const ownerLabels = {
  uid: "virtrigaud.io/uid",
  namespace: "virtrigaud.io/namespace",
  name: "virtrigaud.io/name",
} as const;

/** Why a VM cannot be created yet. */
export interface Unresolved {
  reason:
    | "ClassNotFound"
    | "ImageNotFound"
    | "ImageNotReady"
    | "NetworkNotFound"
    | "NetworkUnsupported"
    | CloudInitUnresolved["reason"];
  message: string;
}

type CreateInit = MessageInitShape<typeof CreateRequestSchema>;

/** CPU and memory a VM should have: its class, overridden by spec.resources. */
export function desiredCompute(
  vm: VirtualMachine,
  vmClass: VMClass,
): { cpu: number; memoryMib: number } {
  const spec = vmClass.spec;
  const classMiB = spec?.memoryMib || (spec?.memory ? quantityMiB(spec.memory) : 1024);
  return {
    cpu: vm.spec?.resources?.cpu || spec?.cpu || 1,
    memoryMib: vm.spec?.resources?.memoryMib || classMiB,
  };
}

/** The network of a NIC: its name at the provider, its kind and model. */
export interface NicBase {
  network: string;
  type: NetworkType;
  model?: NicModel;
}

/** The NIC an attachment gives on a kind of provider, or undefined when it has no section for it. */
export function nicFor(attachment: VMNetworkAttachment, type: ProviderType): NicBase | undefined {
  const network = attachment.spec?.network;
  const libvirt = (): NicBase | undefined => {
    const l = network?.libvirt;
    if (!l) return undefined;
    return l.bridge?.name
      ? { network: l.bridge.name, type: NetworkType.BRIDGE, model: providerNicModel(l.model) }
      : { network: l.networkName, type: NetworkType.VIRTUAL, model: providerNicModel(l.model) };
  };
  const vsphere = (): NicBase | undefined => {
    const v = network?.vsphere;
    if (!v) return undefined;
    return {
      network: v.portgroup,
      type: v.distributedSwitch ? NetworkType.DISTRIBUTED_PORT_GROUP : NetworkType.PORT_GROUP,
    };
  };
  const proxmox = (): NicBase | undefined => {
    const p = network?.proxmox;
    return p
      ? { network: p.bridge, type: NetworkType.BRIDGE, model: providerNicModel(p.model) }
      : undefined;
  };
  switch (type) {
    case ProviderType.LIBVIRT:
    case ProviderType.QEMU:
    case ProviderType.FIRECRACKER:
      return libvirt();
    case ProviderType.VSPHERE:
      return vsphere();
    case ProviderType.PROXMOX:
      return proxmox();
    default:
      // The mock takes any section.
      return libvirt() ?? vsphere() ?? proxmox();
  }
}

/** The image source Create gets, from the image's status for this provider. */
function imageFor(
  image: VMImage,
  providerName: string,
): MessageInitShape<typeof ImageSourceSchema> | undefined {
  const status = image.status?.providerStatus[providerName];
  if (!status?.available) return undefined;
  if (status.path) return { source: { case: "path", value: status.path } };
  return { source: { case: "template", value: status.id } };
}

/**
 * Everything Create needs for a VM, from its class, image, networks,
 * provider and the Secrets of its cloud-init (read through `readSecret`):
 * or why it cannot be made yet.
 */
export function resolveCreate(
  store: ResourceStore,
  vm: VirtualMachine,
  provider: ProviderResource,
  readSecret: ReadSecret,
): { request: CreateInit } | { unresolved: Unresolved } {
  const ns = vm.metadata?.namespace || "default";
  const name = vm.metadata?.name ?? "";
  const spec = vm.spec;
  const refs = vmReferences(vm);
  const classRef = refs.find((r) => r.kind === Kind.VM_CLASS);
  const vmClass = classRef
    ? (store.get(Kind.VM_CLASS, classRef.namespace, classRef.name) as VMClass | undefined)
    : undefined;
  if (!vmClass || vmClass.metadata?.deletionTimestamp)
    return {
      unresolved: { reason: "ClassNotFound", message: `VMClass ${classRef?.name} does not exist` },
    };
  const providerKey = `${provider.metadata?.namespace}/${provider.metadata?.name}`;
  let image: MessageInitShape<typeof ImageSourceSchema> | undefined;
  let rootGib = 0;
  const imageRef = refs.find((r) => r.kind === Kind.VM_IMAGE);
  if (imageRef) {
    const vmImage = store.get(Kind.VM_IMAGE, imageRef.namespace, imageRef.name) as
      VMImage | undefined;
    if (!vmImage)
      return {
        unresolved: {
          reason: "ImageNotFound",
          message: `VMImage ${imageRef.name} does not exist`,
        },
      };
    image = imageFor(vmImage, providerKey);
    if (!image) {
      const why = vmImage.status?.providerStatus[providerKey]?.message;
      return {
        unresolved: {
          reason: "ImageNotReady",
          message: `VMImage ${imageRef.name} is not available on provider ${providerKey} yet${why ? `: ${why}` : ""}`,
        },
      };
    }
  }
  // A disk a migration imported: adopted as the boot disk, without a copy.
  if (spec?.importedDisk?.diskId)
    image = { source: { case: "importedDisk", value: spec.importedDisk.diskId } };
  const defaults = vmClass.spec?.diskDefaults;
  if (spec?.importedDisk?.diskId) rootGib = spec.importedDisk.sizeGib;
  else if (defaults?.sizeGib) rootGib = defaults.sizeGib;
  else if (defaults?.size) rootGib = quantityGiB(defaults.size);
  const type = provider.spec?.type ?? ProviderType.UNSPECIFIED;
  const networks: Array<MessageInitShape<typeof NetworkInterfaceSpecSchema>> = [];
  const networkRefs = refs.filter((r) => r.kind === Kind.VM_NETWORK_ATTACHMENT);
  for (const [i, nic] of (spec?.networks ?? []).entries()) {
    const ref = networkRefs[i];
    if (!ref) continue;
    const attachment = store.get(Kind.VM_NETWORK_ATTACHMENT, ref.namespace, ref.name) as
      VMNetworkAttachment | undefined;
    if (!attachment) {
      if (nic.networkRef)
        return {
          unresolved: {
            reason: "NetworkNotFound",
            message: `VMNetworkAttachment ${ref.name} does not exist`,
          },
        };
      // No attachment of that name: the NIC the image already has.
      continue;
    }
    const base = nicFor(attachment, type);
    if (!base)
      return {
        unresolved: {
          reason: "NetworkUnsupported",
          message: `networks[${i}]: VMNetworkAttachment ${ref.name} has no section for ${ProviderType[type].toLowerCase()} providers`,
        },
      };
    networks.push({
      ...base,
      macAddress: nic.macAddress.replace(/-/g, ":").toLowerCase(),
      ...(nic.ipAddress
        ? {
            staticIp: {
              address: nic.ipAddress,
              prefixLength: nic.prefix || (nic.ipAddress.includes(":") ? 64 : 24),
              gateway: nic.gateway,
              dnsServers: nic.dns
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean),
            },
          }
        : {}),
    });
  }
  // Last: the Secret's values are read only for a VM that can be created.
  const cloudInit = resolveCloudInit(vm, readSecret);
  if (cloudInit && "unresolved" in cloudInit) return cloudInit;
  const providerDefaults = provider.spec?.defaults;
  if (!networks.length && !spec?.networks.length && providerDefaults?.network)
    networks.push({ network: providerDefaults.network });
  const placement = spec?.placement;
  const compute = desiredCompute(vm, vmClass);
  return {
    request: {
      name: providerVmName(ns, name),
      class: {
        cpu: compute.cpu,
        memoryMib: compute.memoryMib,
        firmware: providerFirmware(vmClass.spec?.firmware ?? Firmware.UNSPECIFIED),
      },
      ...(image ? { image } : {}),
      rootDiskSizeGib: rootGib,
      disks: (spec?.disks ?? []).map((d) => ({
        name: d.name,
        sizeGib: d.sizeGib,
        type: providerDiskType(d.type || defaults?.type || DiskType.UNSPECIFIED),
        ...(d.importedDisk?.diskId
          ? { source: { source: { case: "importedDisk" as const, value: d.importedDisk.diskId } } }
          : {}),
      })),
      networks,
      ...(cloudInit ? { cloudInit } : {}),
      placement: {
        cluster: placement?.cluster || providerDefaults?.cluster || "",
        host: placement?.host ?? "",
        resourcePool: placement?.resourcePool || providerDefaults?.resourcePool || "",
        datastore: placement?.datastore || providerDefaults?.datastore || "",
        datastoreCluster: placement?.storagePod ?? "",
        folder: placement?.folder || providerDefaults?.folder || "",
      },
      tags: spec?.tags ?? [],
      labels: {
        [ownerLabels.uid]: vm.metadata?.uid ?? "",
        [ownerLabels.namespace]: ns,
        [ownerLabels.name]: name,
      },
    },
  };
}
