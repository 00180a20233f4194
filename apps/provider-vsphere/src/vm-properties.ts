import { DiskType, Firmware, PowerState, type VirtualMachineSchema } from "@virtrigaud/contracts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ManagedObjectReference,
  OptionValue,
  PropertyValues,
  VirtualDisk,
  VirtualDiskFlatVer2BackingInfo,
} from "@virtrigaud/vsphere-sdk";
import { devicesOf } from "./devices.js";
import { guestAddressesOf, guestFieldsOf, guestPaths } from "./guest-info.js";
import { type PortgroupNames, nicsOf } from "./nics.js";

/** The VM properties Describe and ListVMs read, in one retrieval. */
export const vmPaths = [
  "name",
  "config.instanceUuid",
  "config.template",
  "config.hardware.numCPU",
  "config.hardware.memoryMB",
  "config.hardware.device",
  "config.firmware",
  "config.cpuHotAddEnabled",
  "config.memoryHotAddEnabled",
  "config.extraConfig",
  "runtime.powerState",
  "runtime.host",
  ...guestPaths,
];

/** A property value as text: strings as they are, numbers and booleans written out, anything else empty. */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return "";
}

/** extraConfig keys the provider keeps on its VMs. */
export const extraKeys = {
  /** JSON list of the disks' names, in device order (controller, unit). */
  diskNames: "virtrigaud.disk-names",
  /** JSON object of the request's labels. */
  labels: "virtrigaud.labels",
  /** JSON list of the request's tags (vSphere tags need the REST API, not vim25). */
  tags: "virtrigaud.tags",
  /** CPU count to apply at the next power cycle. */
  pendingCpu: "virtrigaud.pending.cpu",
  /** Memory in MiB to apply at the next power cycle. */
  pendingMemory: "virtrigaud.pending.memory-mib",
  /** "<source instance uuid>/<snapshot name>" of a linked clone's base. */
  linkedTo: "virtrigaud.linked-to",
} as const;

/** What every VM the provider makes keeps in its extraConfig: its disks' names, labels and tags. */
export function recordedExtra(
  diskNames: string[],
  labels: Record<string, string>,
  tags: string[],
): Array<{ key: string; value: string }> {
  return [
    { key: extraKeys.diskNames, value: JSON.stringify(diskNames) },
    { key: extraKeys.labels, value: JSON.stringify(labels) },
    { key: extraKeys.tags, value: JSON.stringify(tags) },
  ];
}

/** The VM's extraConfig as a map. */
export function extraConfigOf(values: PropertyValues): Map<string, string> {
  const options = (values["config.extraConfig"] as OptionValue[] | undefined) ?? [];
  return new Map(
    options.map((o) => [o.key, typeof o.value === "string" ? o.value : String(o.value)]),
  );
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** The VM's disks in device order (controller, then unit), with the names the provider gave them. */
export function disksOf(values: PropertyValues): Array<{ name: string; disk: VirtualDisk }> {
  const disks = devicesOf(values)
    .filter((d): d is VirtualDisk => d._type === "VirtualDisk")
    .sort(
      (a, b) =>
        (a.controllerKey ?? 0) - (b.controllerKey ?? 0) ||
        (a.unitNumber ?? 0) - (b.unitNumber ?? 0),
    );
  const names = parseJson<string[]>(extraConfigOf(values).get(extraKeys.diskNames), []);
  return disks.map((disk, i) => ({ name: names[i] ?? (i === 0 ? "root" : `disk${i}`), disk }));
}

/** Size of a disk in whole GiB, rounded up. */
export function diskGib(disk: VirtualDisk): number {
  const kib = disk.capacityInBytes ? disk.capacityInBytes / 1024 : disk.capacityInKB;
  return Math.ceil(kib / (1024 * 1024));
}

function diskType(disk: VirtualDisk): DiskType {
  const backing = disk.backing as VirtualDiskFlatVer2BackingInfo | undefined;
  if (backing?._type !== "VirtualDiskFlatVer2BackingInfo") return DiskType.UNSPECIFIED;
  if (backing.thinProvisioned) return DiskType.THIN;
  return backing.eagerlyScrub ? DiskType.THICK_EAGER_ZEROED : DiskType.THICK;
}

function powerStateOf(state: unknown): PowerState {
  switch (state) {
    case "poweredOn":
      return PowerState.ON;
    case "poweredOff":
      return PowerState.OFF;
    case "suspended":
      return PowerState.SUSPENDED;
    default:
      return PowerState.UNSPECIFIED;
  }
}

/** How to build a console URL: the vSphere Client's web console. */
export interface ConsoleInfo {
  /** host[:port] of vCenter, as clients reach it. */
  host: string;
  /** vCenter's instance UUID (about.instanceUuid), the web console's serverGuid. */
  serverGuid: string;
}

/** The web console URL of a VM in the vSphere Client (vSphere 6.7 and later). */
function consoleUrl(console: ConsoleInfo, ref: ManagedObjectReference, name: string): string {
  const query = new URLSearchParams({
    vmId: ref.value,
    vmName: name,
    serverGuid: console.serverGuid,
    locale: "en_US",
    host: console.host,
    sessionTicket: "",
    thumbprint: "",
  });
  return `https://${console.host}/ui/webconsole.html?${query.toString()}`;
}

/** The VirtualMachine message of a VM's properties. */
export function toVirtualMachine(
  ref: ManagedObjectReference,
  values: PropertyValues,
  portgroups: PortgroupNames,
  console: ConsoleInfo | undefined,
): MessageInitShape<typeof VirtualMachineSchema> {
  const extra = extraConfigOf(values);
  const name = asText(values["name"] ?? "");
  const powerState = powerStateOf(values["runtime.powerState"]);
  const host = values["runtime.host"] as ManagedObjectReference | undefined;
  const nics = nicsOf(values, portgroups);
  return {
    id: asText(values["config.instanceUuid"] ?? ""),
    name,
    powerState,
    ipAddresses: guestAddressesOf(values, new Set(nics.map((n) => n.macAddress))),
    consoleUrl: console ? consoleUrl(console, ref, name) : "",
    resources: {
      cpu: Number(values["config.hardware.numCPU"] ?? 0),
      memoryMib: Number(values["config.hardware.memoryMB"] ?? 0),
      firmware: values["config.firmware"] === "efi" ? Firmware.UEFI : Firmware.BIOS,
      disks: disksOf(values).map(({ name: diskName, disk }) => ({
        name: diskName,
        sizeGib: diskGib(disk),
        type: diskType(disk),
      })),
      networkInterfaces: nics,
    },
    tags: parseJson<string[]>(extra.get(extraKeys.tags), []),
    labels: parseJson<Record<string, string>>(extra.get(extraKeys.labels), {}),
    providerFields: {
      moref: ref.value,
      ...(host ? { host: host.value } : {}),
      ...guestFieldsOf(values),
      ...(extra.get(extraKeys.pendingCpu)
        ? { pendingCpu: extra.get(extraKeys.pendingCpu) ?? "" }
        : {}),
      ...(extra.get(extraKeys.pendingMemory)
        ? { pendingMemoryMib: extra.get(extraKeys.pendingMemory) ?? "" }
        : {}),
    },
  };
}
