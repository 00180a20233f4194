import { create } from "@bufbuild/protobuf";
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
 * The source's MAC addresses, NIC by NIC: the one its spec names, else the
 * next MAC the guest reported addresses for that no spec names (the guest
 * reports them in NIC order).
 */
function sourceMacs(source: VirtualMachine): string[] {
  const nics = source.spec?.networks ?? [];
  const named = new Set(nics.map((n) => n.macAddress.toLowerCase()).filter(Boolean));
  const reported = [
    ...new Set((source.status?.addresses ?? []).map((a) => a.macAddress.toLowerCase())),
  ].filter((mac) => mac && !named.has(mac));
  return nics.map((nic) => nic.macAddress || reported.shift() || "");
}

/**
 * The target's NICs: those spec.target.networks gives, or the source's with
 * their networks mapped by spec.target.networkMappings (a network with no
 * mapping keeps its name); with the source's MACs when preserveMACAddresses.
 */
export function targetNetworks(migration: VMMigration, source: VirtualMachine): VMNetworkRef[] {
  const target = migration.spec?.target;
  const macs = target?.preserveMacAddresses ? sourceMacs(source) : [];
  const given = target?.networks ?? [];
  const nics = given.length
    ? given.map((nic) => create(VMNetworkRefSchema, nic))
    : (source.spec?.networks ?? []).map((nic) => {
        const network = nic.networkRef?.name || nic.name;
        const mapped = target?.networkMappings.find((m) => m.sourceNetwork === network);
        const copy = create(VMNetworkRefSchema, nic);
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
      networks: targetNetworks(migration, source),
      powerState: target.powerOn ? PowerState.ON : PowerState.OFF,
      ...(target.placement ? { placement: target.placement } : {}),
      ...(target.placementRef ? { placementRef: target.placementRef } : {}),
      ...(source.spec.resources ? { resources: source.spec.resources } : {}),
      tags: source.spec.tags,
    },
  });
}
