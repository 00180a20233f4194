import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type Clock,
  DiskType,
  Firmware,
  IpSource,
  NetworkType,
  NicModel,
  type Logger,
  PowerState,
  ProviderError,
  type VirtualMachineSchema,
  systemClock,
} from "@virtrigaud/contracts";
import {
  type LibvirtHost,
  type VirshArgv,
  type VirshOutcome,
  virshError,
} from "../host/libvirt-host.js";
import { type DomainInfo, parseDomainXml } from "../xml/parse-domain.js";
import { toGib } from "../storage.js";
import { type MacAddress, parseDomifaddr, parseProcArp } from "./parse-addresses.js";
import { type DomainStats, parseDomstats } from "./parse-domstats.js";
import { dumpCommand, dumpParts, dumpedDefinitions } from "./definition-dumps.js";
import { createDefinitionCache } from "./definition-cache.js";
import { type ReadDefinition, planDefinitionReads } from "./definition-reuse.js";
import { type DomainEvents, createDomainEvents } from "./domain-events.js";

/** A domain as the provider sees it: its definition and its figures. */
export interface DomainView {
  info: DomainInfo;
  stats: DomainStats | undefined;
  /** created, adopted, or unmanaged (made elsewhere and not adopted). */
  management: "created" | "adopted" | "unmanaged";
  addresses: Array<{ address: string; source: IpSource; macAddress: string }>;
}

/** A domain's name and UUID, from `virsh list`. */
export interface DomainRef {
  uuid: string;
  name: string;
}

/** Options of `createInventory`. */
export interface InventoryOptions {
  host: LibvirtHost;
  adopt: ReadonlySet<string>;
  vncListen: string | undefined;
  consoleHost: string;
  /**
   * Whether listings follow libvirt's domain events to take unchanged
   * definitions from earlier listings (see definition-reuse.ts). Default: true.
   */
  followEvents?: boolean;
  /** How long a definition read may be used again at most. Default: 30 s. */
  definitionMaxAgeMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** `virsh list --uuid --name`: a UUID and a name per line. */
function parseRefs(out: string): DomainRef[] {
  const refs: DomainRef[] = [];
  for (const line of out.split("\n")) {
    const match = /^\s*([0-9a-f-]{36})\s+(.+?)\s*$/.exec(line);
    if (match) refs.push({ uuid: match[1] ?? "", name: match[2] ?? "" });
  }
  return refs;
}

/** virDomainState to the contract's power state. */
export function powerStateOf(state: number): PowerState {
  switch (state) {
    case 1: // running
    case 2: // blocked
    case 4: // shutting down
      return PowerState.ON;
    case 3: // paused
    case 7: // pmsuspended
      return PowerState.SUSPENDED;
    case 5: // shut off
    case 6: // crashed
      return PowerState.OFF;
    default:
      return PowerState.UNSPECIFIED;
  }
}

const nicModels: Record<string, NicModel> = {
  virtio: NicModel.VIRTIO,
  e1000: NicModel.E1000,
  e1000e: NicModel.E1000E,
  vmxnet3: NicModel.VMXNET3,
  rtl8139: NicModel.RTL8139,
};

/** The provider's name of a disk: its metadata name, "root" for the first disk, else the target. */
export function diskName(info: DomainInfo, target: string): string {
  const named = info.owner?.disks[target];
  if (named) return named;
  const first = info.disks.find((d) => d.device === "disk");
  return first?.target === target ? "root" : target;
}

/** What a domain's address sources said, for applyAddresses. */
interface AddressAnswers {
  agent: VirshOutcome | undefined;
  lease: VirshOutcome | undefined;
  /** The host's ARP table (every guest's entries; applyAddresses picks by MAC). */
  arp: readonly MacAddress[];
}

/** The virsh queries of one domain's addresses: the guest agent's when asked for, its DHCP leases. */
function addressCommands(id: string, withAgent: boolean): VirshArgv[] {
  const lease: VirshArgv = ["domifaddr", { domain: id, source: "lease", full: true }];
  return withAgent ? [["domifaddr", { domain: id, source: "agent", full: true }], lease] : [lease];
}

/**
 * Puts a running domain's addresses into its view, each address once, tagged
 * with the first source that gave it: the guest agent, then DHCP leases,
 * then ARP; then the static addresses the provider configured. A domain that
 * is not running (no answers) has none, static ones included, as with every
 * other provider: nothing holds an address then.
 */
function applyAddresses(view: DomainView, answers: AddressAnswers | undefined): void {
  if (!answers) return;
  const macs = new Set(view.info.nics.map((n) => n.mac));
  const seen = new Set<string>();
  const add = (entries: readonly MacAddress[], source: IpSource) => {
    for (const e of entries) {
      if (!macs.has(e.mac) || seen.has(e.address)) continue;
      seen.add(e.address);
      view.addresses.push({ address: e.address, source, macAddress: e.mac });
    }
  };
  const parsed = (outcome: VirshOutcome | undefined) =>
    outcome && outcome.error === undefined ? parseDomifaddr(outcome.out) : [];
  add(parsed(answers.agent), IpSource.GUEST_AGENT);
  add(parsed(answers.lease), IpSource.DHCP_LEASE);
  add(answers.arp, IpSource.ARP);
  const statics = Object.entries(view.info.owner?.staticAddresses ?? {});
  add(
    statics.map(([mac, address]) => ({ mac, address })),
    IpSource.STATIC,
  );
}

/**
 * Reads domains in a constant number of round trips to the host, whatever
 * their number: one to list them, one virsh process for every definition
 * and the stats of all of them, and one for the addresses of the running
 * ones (guest agent where connected, DHCP leases, and the ARP table read
 * beside it). A Describe of one domain takes a single round trip.
 */
export function createInventory(options: InventoryOptions) {
  const { host } = options;

  /** Listings parse only the definitions that changed since the last one. */
  const definitions = createDefinitionCache();
  const clock = options.clock ?? systemClock;
  const maxAgeMs = options.definitionMaxAgeMs ?? 30_000;
  /** What tells a listing which definitions it need not read again. */
  const events: DomainEvents | undefined =
    options.followEvents === false
      ? undefined
      : createDomainEvents({ host, clock, logger: options.logger });
  /** The definitions listings read, by UUID, with what they were read under. */
  const known = new Map<string, ReadDefinition>();

  const management = (info: DomainInfo): DomainView["management"] =>
    info.owner ? info.owner.origin : options.adopt.has(info.name) ? "adopted" : "unmanaged";

  /** Every domain's name and UUID (one round trip). */
  const list = async (signal?: AbortSignal): Promise<DomainRef[]> => {
    const [out] = await host.virshOk([["list", { all: true, uuid: true, name: true }]], {
      signal,
      idempotent: true,
    });
    return parseRefs(out ?? "");
  };

  /**
   * The host's ARP table, read beside a virsh batch. libvirt's own ARP source
   * (`domifaddr --source arp`) fails on libvirt 9.0 ("wrong nlmsg len"); the
   * host's table is the same one where sshd and libvirtd share the host.
   */
  const readArp = async (signal: AbortSignal | undefined): Promise<MacAddress[]> => {
    const result = await host
      .exec(["cat", "/proc/net/arp"], { signal, idempotent: true })
      .catch(() => undefined);
    return result?.exitCode === 0 ? parseProcArp(result.stdout) : [];
  };

  /**
   * Reads the named domains (by UUID or name) in one round trip. Domains that
   * vanished in the meantime are left out. With `withAddresses`, also finds
   * their guest addresses: in the same round trip for one domain (with the
   * ARP table read beside it), in one more for several.
   */
  const read = async (
    ids: readonly string[],
    signal: AbortSignal | undefined,
    withAddresses: boolean,
  ): Promise<DomainView[]> => {
    if (!ids.length) return [];
    const single = ids.length === 1 ? ids[0] : undefined;
    const commands: VirshArgv[] = ids.map((id) => ["dumpxml", { domain: id }] as const);
    commands.push([
      "domstats",
      { raw: true, state: true, vcpu: true, block: true, domain: single },
    ]);
    // One domain: every source at once; each fails fast when it has nothing to say.
    const inline = withAddresses && single !== undefined;
    if (inline) commands.push(...addressCommands(single, true));
    const [outcomes, arp] = await Promise.all([
      host.virsh(commands, { signal, idempotent: true }),
      inline ? readArp(signal) : [],
    ]);
    const stats = new Map(parseDomstats(outcomes[ids.length]?.out ?? "").map((s) => [s.name, s]));
    const views: DomainView[] = [];
    ids.forEach((_, i) => {
      const outcome = outcomes[i];
      if (!outcome || outcome.error !== undefined) return;
      const info = parseDomainXml(outcome.out);
      views.push({
        info,
        stats: stats.get(info.name),
        management: management(info),
        addresses: [],
      });
    });
    const [view] = views;
    if (inline && view) {
      const running = powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF;
      const [agent, lease] = outcomes.slice(ids.length + 1);
      applyAddresses(view, running ? { agent, lease, arp } : undefined);
    } else if (withAddresses) {
      await findAddresses(views, signal);
    }
    return views;
  };

  /**
   * Fills in the guest addresses of domains read without them, in one round
   * trip: the running ones are asked, the guest agent only where connected.
   */
  const findAddresses = async (views: DomainView[], signal: AbortSignal | undefined) => {
    const running = views.filter((v) => powerStateOf(v.stats?.state ?? 0) !== PowerState.OFF);
    const commands = running.flatMap((v) => addressCommands(v.info.uuid, v.info.agentConnected));
    const [outcomes, arp] = await Promise.all([
      commands.length ? host.virsh(commands, { signal, idempotent: true }) : [],
      running.length ? readArp(signal) : [],
    ]);
    let next = 0;
    for (const view of views) {
      if (!running.includes(view)) continue;
      const agent = view.info.agentConnected ? outcomes[next++] : undefined;
      applyAddresses(view, { agent, lease: outcomes[next++], arp });
    }
  };

  /**
   * Reads every domain whose name starts with `prefix`, with its addresses,
   * in two round trips whatever their number, each of calls at once: the
   * list (every domain, and the active ones) beside the stats of all domains
   * and the ARP table; then, as soon as the list is in, the guest agent's and
   * the DHCP leases' addresses of the active ones, and, once the stats are
   * in, the definitions that may have changed since the last listing (see
   * definition-reuse.ts and definition-dumps.ts). The agent is asked for
   * every active domain (it fails fast where it is not connected) and its
   * answer used where the definition says it is connected, as
   * `findAddresses` does.
   *
   * @throws ProviderError UNAVAILABLE when virsh cannot list or read the domains.
   */
  const readListing = async (
    prefix: string,
    signal: AbortSignal | undefined,
  ): Promise<DomainView[]> => {
    const call = { signal, idempotent: true };
    // With the memory figures: a definition's fingerprint (see definition-reuse.ts).
    const statsCall = host.virsh(
      [["domstats", { raw: true, state: true, vcpu: true, balloon: true, block: true }]],
      call,
    );
    const arpCall = readArp(signal);
    // Settled at once: the list may fail first, and the others must not go unhandled.
    statsCall.catch(() => undefined);
    const [all = "", active = ""] = await host.virshOk(
      [
        ["list", { all: true, uuid: true, name: true }],
        ["list", { uuid: true }],
      ],
      call,
    );
    const matches = parseRefs(all).filter((r) => r.name.startsWith(prefix));
    const running = new Set(active.split("\n").map((l) => l.trim()));
    const answering = matches.filter((r) => running.has(r.uuid));
    const marker = `vrtg${randomBytes(8).toString("hex")}`;
    // The running domains' addresses do not wait for anything else.
    const answersCall = answering.length
      ? host.virsh(
          answering.flatMap((r) => addressCommands(r.uuid, true)),
          call,
        )
      : Promise.resolve([]);
    answersCall.catch(() => undefined);
    const statsByName = statsCall.then(
      ([out]) => new Map(parseDomstats(out?.out ?? "").map((s) => [s.name, s])),
    );
    // Marked before the definitions are read: an event after it counts against them.
    // Unmarked (the events not followed), every definition is read, without
    // waiting for the figures first.
    const mark = events?.mark();
    const hostChanges = host.changes;
    const plan = mark
      ? planDefinitionReads({
          domains: matches,
          fingerprints: new Map([...(await statsByName)].map(([name, s]) => [name, s.fingerprint])),
          known,
          changedSince: (m, name) => events?.changedSince(m, name) ?? true,
          now: clock.now(),
          maxAgeMs,
          hostChanges,
        })
      : { reuse: new Map<string, DomainInfo>(), read: matches.map((r) => r.uuid) };
    const readAt = clock.now();
    const [streams, answers, stats, arp] = await Promise.all([
      Promise.all(
        dumpParts(plan.read).map(async (part) => {
          const dumped = await host.exec(
            ["virsh", "-q", "-c", host.uri, dumpCommand(part, marker)],
            call,
          );
          try {
            return dumpedDefinitions(dumped.stdout, marker);
          } catch (err) {
            throw ProviderError.unavailable(
              `virsh on ${host.description} could not read the domains: ${virshError(dumped.stderr) ?? (err as Error).message}`,
            );
          }
        }),
      ),
      answersCall,
      statsByName,
      arpCall,
    ]);
    const asked = new Map(answering.map((r, i) => [r.uuid, i]));
    const read = new Map(
      streams.flatMap((stream) => definitions.read(stream)).map((info) => [info.uuid, info]),
    );
    for (const [uuid, info] of read) {
      const fingerprint = stats.get(info.name)?.fingerprint;
      if (mark && fingerprint !== undefined) {
        known.set(uuid, { info, fingerprint, mark, readAt, hostChanges });
      } else known.delete(uuid);
    }
    // In the listing's order; a domain gone between the list and its read is left out.
    const infos = matches.flatMap((r) => {
      const info = plan.reuse.get(r.uuid) ?? read.get(r.uuid);
      return info ? [info] : [];
    });
    definitions.forgetMissing(prefix, new Set(infos));
    const listed = new Set(matches.map((r) => r.uuid));
    for (const [uuid, k] of known) {
      if (k.info.name.startsWith(prefix) && !listed.has(uuid)) known.delete(uuid);
    }
    const views: DomainView[] = [];
    for (const info of infos) {
      const view: DomainView = {
        info,
        stats: stats.get(info.name),
        management: management(info),
        addresses: [],
      };
      if (powerStateOf(view.stats?.state ?? 0) !== PowerState.OFF) {
        const at = asked.get(info.uuid);
        applyAddresses(view, {
          agent: at !== undefined && info.agentConnected ? answers[2 * at] : undefined,
          lease: at !== undefined ? answers[2 * at + 1] : undefined,
          arp,
        });
      }
      views.push(view);
    }
    return views;
  };

  /** The contract's view of a domain. */
  const toVirtualMachine = (view: DomainView): MessageInitShape<typeof VirtualMachineSchema> => {
    const { info, stats } = view;
    const power = powerStateOf(stats?.state ?? 0);
    const vnc = power !== PowerState.OFF ? info.vnc : undefined;
    const host =
      vnc && (vnc.listen === "0.0.0.0" || vnc.listen === "::") ? options.consoleHost : vnc?.listen;
    return {
      id: info.uuid,
      name: info.name,
      powerState: power,
      ipAddresses: view.addresses,
      consoleUrl: vnc && host ? `vnc://${host.includes(":") ? `[${host}]` : host}:${vnc.port}` : "",
      resources: {
        cpu: power === PowerState.ON && stats?.vcpus ? stats.vcpus : info.vcpus,
        memoryMib: info.owner?.memoryMib || info.memoryMib,
        firmware: info.firmware === "uefi" ? Firmware.UEFI : Firmware.BIOS,
        disks: info.disks
          .filter((d) => d.device === "disk")
          .map((d) => ({
            name: diskName(info, d.target),
            sizeGib: toGib(stats?.blocks[d.target]?.capacityBytes ?? 0),
            type: d.format === "raw" ? DiskType.THICK : DiskType.THIN,
          })),
        networkInterfaces: info.nics.map((n) => ({
          network: n.source,
          type: n.type === "bridge" ? NetworkType.BRIDGE : NetworkType.VIRTUAL,
          model: nicModels[n.model] ?? NicModel.UNSPECIFIED,
          macAddress: n.mac,
        })),
      },
      tags: [...(info.owner?.tags ?? [])],
      labels: { ...(info.owner?.labels ?? {}) },
      providerFields: {
        uuid: info.uuid,
        domain_type: info.type,
        managed: view.management,
        ...(info.owner?.image ? { image: info.owner.image } : {}),
        ...(info.owner?.linkedTo ? { linked_to: info.owner.linkedTo } : {}),
        ...(stats ? { libvirt_state: String(stats.state) } : {}),
      },
    };
  };

  return {
    list,
    read,
    readListing,
    findAddresses,
    toVirtualMachine,
    management,
    /** Stops following the domain events. */
    close: () => events?.close(),
  };
}

/** The inventory reader. */
export type Inventory = ReturnType<typeof createInventory>;
