import { ProviderError, type ProviderRequest } from "@virtrigaud/contracts";
import { diskName } from "./inventory/inventory.js";
import type { DomainStats } from "./inventory/parse-domstats.js";
import { gib, toGib } from "./storage.js";
import { type OwnerRecord, metadataNamespace, metadataPrefix } from "./xml/domain-spec.js";
import { renderOwnerXml } from "./xml/domain-xml.js";
import type { DomainInfo } from "./xml/parse-domain.js";

/** One virsh command of a reconfiguration. */
type VirshStep = [string, Record<string, string | number | boolean>];

/** What a Reconfigure does: virsh commands in order, and whether the change waits for a power cycle. */
export interface ReconfigurePlan {
  commands: VirshStep[];
  powerCycleRequired: boolean;
}

/** The domain as a Reconfigure sees it. */
export interface ReconfigureTarget {
  /** The live definition (the persistent one when the domain is off). */
  info: DomainInfo;
  /** The persistent definition: the targets compare with it. */
  persistent: DomainInfo;
  stats: DomainStats | undefined;
  running: boolean;
  /** How far the maximum CPU and memory is raised beyond the target, for later live growth. */
  headroom: number;
}

/**
 * Decides a Reconfigure: values are targets, not increments, compared with
 * the persistent definition (and the live one while the domain runs). CPU
 * and memory change live only within the maximum defined at create; beyond
 * it, at the next boot. Disks grow by blockresize while running, vol-resize
 * otherwise. Nothing to change is undefined.
 *
 * @throws ProviderError INVALID_SPEC for an unknown disk or a shrink.
 */
export function planReconfigure(
  target: ReconfigureTarget,
  request: ProviderRequest<"reconfigure">,
): ReconfigurePlan | undefined {
  const { info, persistent, running } = target;
  const uuid = info.uuid;
  const grows: Array<{ target: string; path: string; sizeGib: number }> = [];
  for (const [i, resize] of request.disks.entries()) {
    const disk = info.disks.find(
      (d) => d.device === "disk" && diskName(info, d.target) === resize.name,
    );
    if (!disk) {
      throw ProviderError.invalidSpec(
        `disks[${i}].name`,
        `vm ${info.name} has no disk named ${JSON.stringify(resize.name)}`,
      );
    }
    const current = toGib(target.stats?.blocks[disk.target]?.capacityBytes ?? 0);
    if (resize.sizeGib < current) {
      throw ProviderError.invalidSpec(
        `disks[${i}].size_gib`,
        `cannot shrink ${resize.name} from ${current} to ${resize.sizeGib} GiB`,
      );
    }
    if (resize.sizeGib > current)
      grows.push({ target: disk.target, path: disk.path, sizeGib: resize.sizeGib });
  }
  const cpu =
    request.cpu !== undefined && request.cpu !== persistent.vcpus ? request.cpu : undefined;
  const memoryMib =
    request.memoryMib !== undefined && request.memoryMib !== persistent.memoryMib
      ? request.memoryMib
      : undefined;
  const liveCpu =
    running && request.cpu !== undefined && request.cpu !== info.vcpus ? request.cpu : undefined;
  const liveMemory =
    running && request.memoryMib !== undefined && request.memoryMib !== info.memoryMib
      ? request.memoryMib
      : undefined;
  if (
    cpu === undefined &&
    memoryMib === undefined &&
    liveCpu === undefined &&
    liveMemory === undefined &&
    !grows.length
  ) {
    return undefined;
  }
  // Live only within the headroom defined at create; beyond it, the next boot.
  const cpuLive = liveCpu === undefined || liveCpu <= info.maxVcpus;
  const memoryLive = liveMemory === undefined || liveMemory <= info.maxMemoryMib;
  const powerCycleRequired = running && (!cpuLive || !memoryLive);

  const commands: VirshStep[] = [];
  const newCpu = cpu ?? liveCpu;
  if (newCpu !== undefined) {
    const max = Math.max(
      newCpu,
      persistent.maxVcpus,
      Math.min(1024, Math.floor(newCpu * target.headroom)),
    );
    if (max !== persistent.maxVcpus)
      commands.push(["setvcpus", { domain: uuid, count: max, maximum: true, config: true }]);
    commands.push(["setvcpus", { domain: uuid, count: newCpu, config: true }]);
    if (running && cpuLive)
      commands.push(["setvcpus", { domain: uuid, count: newCpu, live: true }]);
  }
  const newMemory = memoryMib ?? liveMemory;
  if (newMemory !== undefined) {
    const max = Math.max(
      newMemory,
      Math.min(16777216, Math.floor(newMemory * target.headroom)),
      running ? info.maxMemoryMib : 0,
    );
    if (max !== persistent.maxMemoryMib)
      commands.push(["setmaxmem", { domain: uuid, size: `${max}M`, config: true }]);
    commands.push(["setmem", { domain: uuid, size: `${newMemory}M`, config: true }]);
    if (running && memoryLive)
      commands.push(["setmem", { domain: uuid, size: `${newMemory}M`, live: true }]);
    // The target the provider reports (see OwnerRecord.memoryMib).
    const setOwner = (owner: OwnerRecord | undefined, scope: "config" | "live") => {
      if (!owner) return;
      commands.push([
        "metadata",
        {
          domain: uuid,
          uri: metadataNamespace,
          key: metadataPrefix,
          set: renderOwnerXml({ ...owner, memoryMib: newMemory }),
          [scope]: true,
        },
      ]);
    };
    setOwner(persistent.owner, "config");
    if (running && memoryLive) setOwner(info.owner, "live");
  }
  for (const grow of grows) {
    commands.push(
      running
        ? ["blockresize", { domain: uuid, path: grow.target, size: gib(grow.sizeGib) }]
        : ["vol-resize", { vol: grow.path, capacity: gib(grow.sizeGib) }],
    );
  }
  return { commands, powerCycleRequired };
}
