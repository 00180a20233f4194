import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PowerState, ProviderError } from "@virtrigaud/contracts";
import type { DomainView } from "./inventory/inventory.js";
import { powerStateOf } from "./inventory/inventory.js";
import type { LibvirtContext } from "./libvirt-context.js";
import { parseXml, text } from "./xml/parse-domain.js";
import { el, renderXml } from "./xml/xml-builder.js";

/**
 * libvirt's internal snapshots of a running domain always hold its memory.
 * A snapshot taken without memory is marked with this last line of its
 * description, and reverting to it leaves the VM off, as if only its disks
 * had been saved. The marker survives reverts, which restore the domain's
 * own metadata.
 */
const diskOnlyMarker = "\n[virtrigaud: disk only]";

/** One snapshot of a domain as libvirt describes it. */
export interface SnapshotInfo {
  name: string;
  description: string;
  parent: string;
  /** The domain's state when it was taken: running, paused, shutoff... */
  state: string;
  createTimeMs: number;
  /** libvirt holds the memory (a running domain's internal snapshot). */
  holdsMemory: boolean;
  /** It was taken without memory being asked for. */
  diskOnly: boolean;
}

/** Reads every snapshot of a domain in two round trips, oldest first. */
export async function listSnapshots(
  ctx: LibvirtContext,
  uuid: string,
  signal?: AbortSignal,
): Promise<SnapshotInfo[]> {
  const [names] = await ctx.host.virshOk(
    [["snapshot-list", { domain: uuid, name: true, topological: true }]],
    { signal, idempotent: true },
  );
  const list = (names ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (!list.length) return [];
  const xmls = await ctx.host.virshOk(
    list.map(
      (snapshotname) =>
        [
          "snapshot-dumpxml",
          // Without the domain definition each snapshot carries: only its own facts.
          {
            domain: uuid,
            snapshotname,
            xpath: "/domainsnapshot/*[not(self::domain) and not(self::disks)]",
            wrap: true,
          },
        ] as const,
    ),
    { signal, idempotent: true },
  );
  const snapshots = xmls.map((xml, i): SnapshotInfo => {
    const root = (parseXml(xml)["nodes"] ?? {}) as Record<string, unknown>;
    const raw = text(root["description"]);
    const diskOnly = raw.endsWith(diskOnlyMarker);
    const parent = (root["parent"] ?? {}) as Record<string, unknown>;
    const memory = (root["memory"] ?? {}) as Record<string, unknown>;
    return {
      name: text(root["name"]) || (list[i] ?? ""),
      description: diskOnly ? raw.slice(0, -diskOnlyMarker.length) : raw,
      parent: text(parent["name"]),
      state: text(root["state"]),
      createTimeMs: Number(text(root["creationTime"])) * 1000,
      holdsMemory: memory["@snapshot"] === "internal" || memory["@snapshot"] === "external",
      diskOnly,
    };
  });
  return snapshots.sort((a, b) => a.createTimeMs - b.createTimeMs);
}

/** The contract's view of a snapshot. */
export function toSnapshot(s: SnapshotInfo) {
  return {
    id: s.name,
    name: s.name,
    description: s.description,
    includeMemory: s.holdsMemory && !s.diskOnly,
    parentId: s.parent,
    powerState:
      s.state === "running" || s.state === "blocked"
        ? PowerState.ON
        : s.state === "paused" || s.state === "pmsuspended"
          ? PowerState.SUSPENDED
          : PowerState.OFF,
    createTime: timestampFromMs(s.createTimeMs),
  };
}

/**
 * Checks that libvirt can take an internal snapshot of the VM.
 *
 * @throws ProviderError UNSUPPORTED for a UEFI VM (libvirt takes no internal
 * snapshots with pflash firmware) or disks that are not qcow2 (thick disks).
 */
export function checkSnapshotable(view: DomainView): void {
  if (view.info.firmware === "uefi") {
    throw ProviderError.unsupported("libvirt takes no internal snapshots of UEFI VMs");
  }
  if (view.info.disks.some((d) => d.device === "disk" && d.format !== "qcow2")) {
    throw ProviderError.unsupported("snapshots need every disk in qcow2 (no thick disks)");
  }
}

/**
 * Takes an internal snapshot. Of a running VM it holds memory; when memory
 * was not asked for, the snapshot is marked disk-only (see diskOnlyMarker).
 *
 * @throws ProviderError UNSUPPORTED as checkSnapshotable does.
 */
export async function takeSnapshot(
  ctx: LibvirtContext,
  view: DomainView,
  name: string,
  description: string,
  includeMemory: boolean,
  quiesce: boolean,
  signal: AbortSignal,
): Promise<void> {
  checkSnapshotable(view);
  const running = powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF;
  const marked = running && !includeMemory ? `${description}${diskOnlyMarker}` : description;
  // The description may hold anything, line breaks included: it goes in a document.
  const xml = renderXml(
    el(
      "domainsnapshot",
      {},
      el("name", {}, name),
      marked ? el("description", {}, marked) : undefined,
    ),
  );
  const dir = await ctx.scratch(signal);
  let outcomes;
  try {
    await ctx.host.writeFile(`${dir}/snapshot.xml`, xml, signal);
    outcomes = await ctx.host.virsh(
      [
        [
          "snapshot-create",
          {
            domain: view.info.uuid,
            xmlfile: `${dir}/snapshot.xml`,
            atomic: true,
            quiesce: quiesce && running && view.info.agentConnected,
          },
        ],
      ],
      { signal },
    );
  } finally {
    await ctx.host.exec(["rm", "-rf", "--", dir]).catch(() => undefined);
  }
  const error = outcomes[0]?.error;
  if (error !== undefined) {
    if (/already exists/.test(error)) return;
    throw ProviderError.internal(`snapshot of ${view.info.name} failed: ${error}`);
  }
}

/**
 * Reverts to a snapshot. A disk-only snapshot of a running VM is reverted
 * paused and then powered off, so the guest does not resume from memory it
 * was not asked to keep.
 *
 * @throws ProviderError NOT_FOUND when the VM has no such snapshot.
 */
export async function revertSnapshot(
  ctx: LibvirtContext,
  view: DomainView,
  snapshot: SnapshotInfo,
  signal: AbortSignal,
): Promise<void> {
  const uuid = view.info.uuid;
  if (snapshot.holdsMemory) await pinHotpluggedVcpus(ctx, uuid, snapshot.name, signal);
  if (snapshot.diskOnly && snapshot.holdsMemory) {
    await ctx.host.virshOk(
      [
        [
          "snapshot-revert",
          { domain: uuid, snapshotname: snapshot.name, paused: true, force: true },
        ],
      ],
      { signal },
    );
    await ctx.host.virshOk([["destroy", { domain: uuid }]], { signal });
    return;
  }
  await ctx.host.virshOk(
    [["snapshot-revert", { domain: uuid, snapshotname: snapshot.name, force: true }]],
    { signal },
  );
}

/** A vCPU hot-plugged into the running domain, as libvirt writes it in a definition. */
const hotpluggedVcpu = /(<vcpu id='\d+' enabled='yes' hotpluggable=)'yes'/g;

/**
 * libvirt (9.0) reverts to a snapshot with memory by starting QEMU with
 * `-loadvm`, and adds vCPUs that were hot-plugged (a live CPU reconfigure)
 * only once QEMU runs: the saved state then has a CPU with nowhere to go
 * ("Unknown savevm section ... cpu_common") and the revert fails, leaving the
 * VM off. Marked not hot-pluggable in the snapshot's own definition, they are
 * there from QEMU's start. (The virtio queue counts, which would otherwise
 * follow the vCPUs QEMU starts with, are pinned in the definition at create.)
 * The snapshot is redefined with the rest of its definition as it was; which
 * snapshot is current does not change.
 */
async function pinHotpluggedVcpus(
  ctx: LibvirtContext,
  uuid: string,
  snapshotname: string,
  signal: AbortSignal,
): Promise<void> {
  const [xml = ""] = await ctx.host.virshOk(
    [["snapshot-dumpxml", { domain: uuid, snapshotname, "security-info": true }]],
    { signal, idempotent: true },
  );
  const pinned = xml.replace(hotpluggedVcpu, "$1'no'");
  if (pinned === xml) return;
  const dir = await ctx.scratch(signal);
  try {
    await ctx.host.writeFile(`${dir}/snapshot.xml`, pinned, signal);
    await ctx.host.virshOk(
      [["snapshot-create", { domain: uuid, xmlfile: `${dir}/snapshot.xml`, redefine: true }]],
      { signal },
    );
  } finally {
    await ctx.host.exec(["rm", "-rf", "--", dir]).catch(() => undefined);
  }
}
