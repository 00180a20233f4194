import { clone, create } from "@bufbuild/protobuf";
import {
  type MigrationDiskStatus,
  ObjectRefSchema,
  PowerState,
  type VMMigration,
  type VMMigrationStatus,
  type VMNetworkRef,
  VMNetworkRefSchema,
  type VirtualMachine,
  VirtualMachineSchema,
} from "@virtrigaud/proto/manager";
import { apiVersion } from "../manifest/kinds.js";
import { migrationAnnotation, targetNamespace } from "./migration-plan.js";

/** Annotation on a migrated VirtualMachine: the source's "namespace/name". */
const migratedFromAnnotation = "virtrigaud.io/migrated-from";

const gib = 1024n ** 3n;

/** GiB enough to hold `bytes`. */
function gibOf(bytes: bigint): number {
  return Number((bytes + gib - 1n) / gib);
}

/**
 * The source's MAC addresses, NIC by NIC: as its provider described them
 * before the export, else the one its spec names.
 */
function sourceMacs(source: VirtualMachine, status: VMMigrationStatus): string[] {
  const named = (source.spec?.networks ?? []).map((nic) => nic.macAddress.toLowerCase());
  const described = status.sourceMacAddresses;
  const count = Math.max(named.length, described.length);
  return Array.from({ length: count }, (_, i) => described[i] || named[i] || "");
}

/**
 * The target's NICs: those spec.target.networks gives, or the source's with
 * their networks mapped by spec.target.networkMappings (a network with no
 * mapping keeps its name); with the source's MACs when preserveMACAddresses.
 */
export function targetNetworks(
  migration: VMMigration,
  source: VirtualMachine,
  status: VMMigrationStatus,
): VMNetworkRef[] {
  const target = migration.spec?.target;
  const macs = target?.preserveMacAddresses ? sourceMacs(source, status) : [];
  const given = target?.networks ?? [];
  const nics = given.length
    ? given.map((nic) => clone(VMNetworkRefSchema, nic))
    : (source.spec?.networks ?? []).map((nic) => {
        const network = nic.networkRef?.name || nic.name;
        const mapped = target?.networkMappings.find((m) => m.sourceNetwork === network);
        // A copy: create() would hand back the source's own message.
        const copy = clone(VMNetworkRefSchema, nic);
        copy.macAddress = "";
        if (mapped?.targetNetwork)
          copy.networkRef = create(ObjectRefSchema, {
            name: mapped.targetNetwork.name,
            namespace: mapped.targetNetwork.namespace,
          });
        else if (nic.networkRef)
          copy.networkRef = create(ObjectRefSchema, { name: nic.networkRef.name });
        return copy;
      });
  nics.forEach((nic, i) => {
    if (!nic.macAddress && macs[i]) nic.macAddress = macs[i];
  });
  return nics;
}

/**
 * The VirtualMachine a migration declares at its target: the imported boot
 * disk as spec.importedDisk, the other disks with their imports, the class
 * (spec.target.classRef, else the source's), networks and placement asked
 * for. Undefined without a source to take the rest from.
 */
export function targetVmOf(
  migration: VMMigration,
  source: VirtualMachine | undefined,
  status: VMMigrationStatus,
): VirtualMachine | undefined {
  const target = migration.spec?.target;
  const [root, ...data] = status.disks;
  if (!source?.spec || !target || !root) return undefined;
  const ns = migration.metadata?.namespace || "default";
  const imported = (d: MigrationDiskStatus, sizeGib: number) => ({
    diskId: d.importId,
    format: "",
    source: `${ns}/${source.metadata?.name}:${d.name}`,
    migrationRef: { name: migration.metadata?.name ?? "" },
    sizeGib,
  });
  return create(VirtualMachineSchema, {
    apiVersion,
    kind: "VirtualMachine",
    metadata: {
      name: target.name,
      namespace: targetNamespace(migration),
      labels: { ...target.labels },
      annotations: {
        ...target.annotations,
        [migrationAnnotation]: migration.metadata?.uid ?? "",
        [migratedFromAnnotation]: `${ns}/${source.metadata?.name ?? ""}`,
      },
    },
    spec: {
      providerRef: {
        name: target.providerRef?.name ?? "",
        namespace: target.providerRef?.namespace ?? "",
      },
      classRef: { name: target.classRef?.name || source.spec.classRef?.name || "" },
      // Grown to the source's capacity when the file is smaller (a sparse or compact format).
      importedDisk: imported(root, gibOf(root.capacityBytes)),
      disks: data.map((d) => {
        const asked = target.disks.find((t) => t.name === d.name);
        const sizeGib = Math.max(asked?.sizeGib ?? 0, gibOf(d.capacityBytes), 1);
        return {
          name: d.name,
          sizeGib,
          ...(asked ? { type: asked.type, storageClass: asked.storageClass } : {}),
          importedDisk: imported(d, sizeGib),
        };
      }),
      networks: targetNetworks(migration, source, status),
      powerState: target.powerOn ? PowerState.ON : PowerState.OFF,
      ...(target.placement ? { placement: target.placement } : {}),
      ...(target.placementRef ? { placementRef: target.placementRef } : {}),
      ...(source.spec.resources ? { resources: source.spec.resources } : {}),
      tags: source.spec.tags,
    },
  });
}
