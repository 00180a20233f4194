import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  ConditionStatus,
  Kind,
  type Provider as ProviderResource,
  type VMClass,
  type VMClone,
  type VMImage,
  type VMMigration,
  type VMNetworkAttachment,
  type VMSnapshot,
  type VirtualMachine,
  type Condition,
  type Secret,
  ClonePhase,
  CircuitState,
  ImagePhase,
  SnapshotPhase,
  VirtualMachinePhase,
  ProviderPhase,
  PowerStateSchema,
  AddressSourceSchema,
  ProviderTypeSchema,
  FirmwareSchema,
  CloneTypeSchema,
  NetworkKindSchema,
  CircuitStateSchema,
  MigrationPhaseSchema,
} from "@virtrigaud/proto/manager";
import type { DescEnum } from "@bufbuild/protobuf";
import { manifestName } from "../manifest/enum-names.js";
import type { AnyResource } from "../manifest/kinds.js";
import { age } from "./common.js";

function word(desc: DescEnum, value: number, fallback = ""): string {
  return manifestName(desc, value) ?? fallback;
}

function phaseWord(phase: number, names: Record<number, string>): string {
  return names[phase] ?? "";
}

function ready(conditions: readonly Condition[] | undefined): string {
  const c = conditions?.find((x) => x.type === "Ready");
  if (!c) return "";
  return c.status === ConditionStatus.TRUE ? "True" : c.reason || "False";
}

const vmPhases: Record<number, string> = {
  [VirtualMachinePhase.PENDING]: "Pending",
  [VirtualMachinePhase.PROVISIONING]: "Provisioning",
  [VirtualMachinePhase.RUNNING]: "Running",
  [VirtualMachinePhase.STOPPED]: "Stopped",
  [VirtualMachinePhase.RECONFIGURING]: "Reconfiguring",
  [VirtualMachinePhase.DELETING]: "Deleting",
  [VirtualMachinePhase.FAILED]: "Failed",
};

/** A table's header and how to make a row of it. */
export interface Columns {
  header: string[];
  row: (resource: AnyResource) => string[];
}

/** The columns `vrtg get` prints for a kind, kubectl style; `wide` adds more. */
export function columnsFor(kind: Kind, wide: boolean): Columns {
  const created = (r: AnyResource) =>
    age(r.metadata?.creationTimestamp ? timestampMs(r.metadata.creationTimestamp) : undefined);
  switch (kind) {
    case Kind.VIRTUAL_MACHINE:
      return {
        header: [
          "NAME",
          "PHASE",
          "READY",
          "PROVIDER",
          "CLASS",
          "IMAGE",
          "IPS",
          "AGE",
          ...(wide ? ["POWER", "CPU", "MEMORY", "ADDRESSES", "ID"] : []),
        ],
        row: (r) => {
          const vm = r as VirtualMachine;
          return [
            vm.metadata?.name ?? "",
            phaseWord(vm.status?.phase ?? 0, vmPhases),
            ready(vm.status?.conditions),
            vm.spec?.providerRef?.name ?? "",
            vm.spec?.classRef?.name ?? "",
            vm.spec?.imageRef?.name ?? "",
            (vm.status?.ips ?? []).join(","),
            created(r),
            ...(wide
              ? [
                  word(PowerStateSchema, vm.status?.powerState ?? 0),
                  String(vm.status?.currentResources?.cpu ?? ""),
                  vm.status?.currentResources?.memoryMib
                    ? `${vm.status.currentResources.memoryMib}Mi`
                    : "",
                  // Each address with where it was learned: 10.0.0.5(DHCPLease).
                  (vm.status?.addresses ?? [])
                    .map((a) => `${a.address}(${word(AddressSourceSchema, a.source)})`)
                    .join(","),
                  vm.status?.id ?? "",
                ]
              : []),
          ];
        },
      };
    case Kind.PROVIDER:
      return {
        header: [
          "NAME",
          "TYPE",
          "ENDPOINT",
          "HEALTHY",
          "CIRCUIT",
          "VMS",
          "AGE",
          ...(wide ? ["VERSION", "MESSAGE"] : []),
        ],
        row: (r) => {
          const p = r as ProviderResource;
          return [
            p.metadata?.name ?? "",
            word(ProviderTypeSchema, p.spec?.type ?? 0),
            p.spec?.endpoint ?? "",
            p.status?.phase === ProviderPhase.READY ? "True" : p.status ? "False" : "",
            word(CircuitStateSchema, p.status?.circuit ?? CircuitState.UNSPECIFIED),
            String(p.status?.connectedVms ?? 0),
            created(r),
            ...(wide ? [p.status?.version ?? "", p.status?.message ?? ""] : []),
          ];
        },
      };
    case Kind.VM_CLASS:
      return {
        header: ["NAME", "CPU", "MEMORY", "FIRMWARE", "USED-BY", "AGE"],
        row: (r) => {
          const c = r as VMClass;
          return [
            c.metadata?.name ?? "",
            String(c.spec?.cpu ?? ""),
            c.spec?.memory || (c.spec?.memoryMib ? `${c.spec.memoryMib}Mi` : ""),
            word(FirmwareSchema, c.spec?.firmware ?? 0),
            String(c.status?.usedByVms ?? 0),
            created(r),
          ];
        },
      };
    case Kind.VM_IMAGE:
      return {
        header: ["NAME", "READY", "PHASE", "PROVIDERS", "USED-BY", "AGE"],
        row: (r) => {
          const i = r as VMImage;
          const phases: Record<number, string> = {
            [ImagePhase.PENDING]: "Pending",
            [ImagePhase.DOWNLOADING]: "Downloading",
            [ImagePhase.READY]: "Ready",
            [ImagePhase.FAILED]: "Failed",
          };
          return [
            i.metadata?.name ?? "",
            String(i.status?.ready ?? false),
            phases[i.status?.phase ?? 0] ?? "",
            (i.status?.availableOn ?? []).join(","),
            String(i.status?.usedByVms ?? 0),
            created(r),
          ];
        },
      };
    case Kind.VM_NETWORK_ATTACHMENT:
      return {
        header: ["NAME", "READY", "TYPE", "VMS", "PROVIDERS", "AGE"],
        row: (r) => {
          const n = r as VMNetworkAttachment;
          return [
            n.metadata?.name ?? "",
            String(n.status?.ready ?? false),
            word(NetworkKindSchema, n.spec?.network?.type ?? 0),
            String(n.status?.connectedVms ?? 0),
            (n.status?.availableOn ?? []).join(","),
            created(r),
          ];
        },
      };
    case Kind.VM_SNAPSHOT:
      return {
        header: ["NAME", "VM", "PHASE", "SNAPSHOT-ID", "EXPIRES", "AGE"],
        row: (r) => {
          const s = r as VMSnapshot;
          const phases: Record<number, string> = {
            [SnapshotPhase.PENDING]: "Pending",
            [SnapshotPhase.CREATING]: "Creating",
            [SnapshotPhase.READY]: "Ready",
            [SnapshotPhase.DELETING]: "Deleting",
            [SnapshotPhase.FAILED]: "Failed",
            [SnapshotPhase.EXPIRED]: "Expired",
          };
          const expiry = s.status?.expiryTime
            ? new Date(timestampMs(s.status.expiryTime)).toISOString()
            : "";
          return [
            s.metadata?.name ?? "",
            s.spec?.vmRef?.name ?? "",
            phases[s.status?.phase ?? 0] ?? "",
            s.status?.snapshotId ?? "",
            expiry,
            created(r),
          ];
        },
      };
    case Kind.VM_CLONE:
      return {
        header: ["NAME", "SOURCE", "TARGET", "PHASE", "TYPE", "AGE"],
        row: (r) => {
          const c = r as VMClone;
          const phases: Record<number, string> = {
            [ClonePhase.PENDING]: "Pending",
            [ClonePhase.CLONING]: "Cloning",
            [ClonePhase.READY]: "Ready",
            [ClonePhase.FAILED]: "Failed",
          };
          const source =
            c.spec?.source?.vmRef?.name ??
            (c.spec?.source?.snapshotRef ? `snapshot/${c.spec.source.snapshotRef.name}` : "");
          return [
            c.metadata?.name ?? "",
            source,
            c.spec?.target?.name ?? "",
            phases[c.status?.phase ?? 0] ?? "",
            word(CloneTypeSchema, c.status?.actualCloneType ?? 0),
            created(r),
          ];
        },
      };
    case Kind.VM_MIGRATION:
      return {
        header: ["NAME", "SOURCE", "TARGET", "PHASE", "PROGRESS", "AGE"],
        row: (r) => {
          const m = r as VMMigration;
          const target = m.spec?.target;
          return [
            m.metadata?.name ?? "",
            m.spec?.source?.vmRef?.name ?? "",
            target ? `${target.providerRef?.name ?? ""}/${target.name}` : "",
            word(MigrationPhaseSchema, m.status?.phase ?? 0),
            migrationProgress(m),
            created(r),
          ];
        },
      };
    case Kind.SECRET:
      return {
        // DATA counts the keys shown: 0 to a caller that may not read the values.
        header: ["NAME", "TYPE", "DATA", "AGE"],
        row: (r) => {
          const s = r as Secret;
          return [s.metadata?.name ?? "", s.type, String(Object.keys(s.data).length), created(r)];
        },
      };
    default:
      return { header: ["NAME"], row: (r) => [r.metadata?.name ?? ""] };
  }
}

function bytesWord(n: bigint): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u ? v.toFixed(1) : v}${units[u]}`;
}

/** "45% 1.2GiB/2.0GiB 30.0MiB/s eta 1m10s": how far a migration's transfer is. */
function migrationProgress(m: VMMigration): string {
  const p = m.status?.progress;
  if (!p || !p.totalBytes) return "";
  const parts = [`${p.percentage}%`, `${bytesWord(p.transferredBytes)}/${bytesWord(p.totalBytes)}`];
  if (p.transferRate) parts.push(`${bytesWord(p.transferRate)}/s`);
  if (p.eta) parts.push(`eta ${p.eta}`);
  return parts.join(" ");
}
