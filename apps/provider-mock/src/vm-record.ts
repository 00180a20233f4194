import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type DiskType,
  type Firmware,
  IpSource,
  type NetworkType,
  type NicModel,
  PowerState,
  type VirtualMachineSchema,
} from "@virtrigaud/contracts";

/** A disk as the mock keeps it. */
interface DiskRecord {
  name: string;
  sizeGib: number;
  type: DiskType;
  /** The import (ImageSource.imported_disk) whose bytes the disk adopted; absent for a made-up disk. */
  importId?: string;
}

/** The resources a VM runs with. */
export interface MachineConfig {
  cpu: number;
  memoryMib: number;
  disks: DiskRecord[];
}

/** A NIC as the mock keeps it. */
interface NicRecord {
  network: string;
  type: NetworkType;
  model: NicModel;
  macAddress: string;
  staticAddress: string;
}

/** A snapshot and the configuration it restores. */
export interface SnapshotRecord {
  id: string;
  name: string;
  description: string;
  includeMemory: boolean;
  parentId: string;
  powerState: PowerState;
  createTime: number;
  config: MachineConfig;
}

/**
 * A VM as the mock keeps it. Plain data, so the whole inventory can be
 * written to the state file as JSON.
 */
export interface VmRecord {
  id: string;
  name: string;
  /** creating and deleting last while the operation's task runs. */
  phase: "creating" | "ready" | "deleting";
  /** The task of the create or delete in progress, handed out again to repeated calls. */
  taskId: string;
  powerState: PowerState;
  firmware: Firmware;
  config: MachineConfig;
  /** Changes written to the configuration that take effect at the next power cycle. */
  pending: Partial<MachineConfig> | undefined;
  nics: NicRecord[];
  /** The address the guest gets on its first NIC while it runs. */
  guestAddress: string;
  tags: string[];
  labels: Record<string, string>;
  image: string;
  createTime: number;
  snapshots: SnapshotRecord[];
  currentSnapshotId: string;
  /** For a linked clone: the VM and snapshot its disks are layered on. */
  linkedTo: { vmId: string; snapshotId: string } | undefined;
  /**
   * The cloud-init Create gave it, kept as a hypervisor keeps a VM's seed
   * disk (and so in the state file): what the guest would boot with.
   */
  cloudInit?: { userData: string; metaData: string };
}

/** What Describe and ListVMs report besides the record: whether consoles are declared. */
export interface ReportOptions {
  console: boolean;
}

/** The wire form of a VM record. */
export function toVirtualMachine(
  vm: VmRecord,
  options: ReportOptions,
): MessageInitShape<typeof VirtualMachineSchema> {
  const running = vm.powerState === PowerState.ON && vm.phase === "ready";
  const addresses = running
    ? [
        ...(vm.guestAddress
          ? [
              {
                address: vm.guestAddress,
                source: IpSource.GUEST_AGENT,
                macAddress: vm.nics[0]?.macAddress ?? "",
              },
            ]
          : []),
        ...vm.nics
          .filter((n) => n.staticAddress)
          .map((n) => ({
            address: n.staticAddress,
            source: IpSource.STATIC,
            macAddress: n.macAddress,
          })),
      ]
    : [];
  return {
    id: vm.id,
    name: vm.name,
    powerState: vm.powerState,
    ipAddresses: addresses,
    consoleUrl: options.console ? `https://console.mock.invalid/vms/${vm.id}` : "",
    resources: {
      cpu: vm.config.cpu,
      memoryMib: vm.config.memoryMib,
      firmware: vm.firmware,
      disks: vm.config.disks.map(({ name, sizeGib, type, importId }) => ({
        name,
        sizeGib,
        type,
        ...(importId
          ? { source: { source: { case: "importedDisk" as const, value: importId } } }
          : {}),
      })),
      networkInterfaces: vm.nics.map(({ network, type, model, macAddress }) => ({
        network,
        type,
        model,
        macAddress,
      })),
    },
    tags: vm.tags,
    labels: vm.labels,
    providerFields: {
      phase: vm.phase,
      createTime: new Date(vm.createTime).toISOString(),
      ...(vm.image ? { image: vm.image } : {}),
      ...(vm.pending ? { pendingPowerCycle: "true" } : {}),
      ...(vm.linkedTo ? { linkedTo: `${vm.linkedTo.vmId}@${vm.linkedTo.snapshotId}` } : {}),
    },
  };
}
