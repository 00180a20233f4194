import type { DomainInfo } from "../xml/parse-domain.js";
import type { EventMark } from "./domain-events.js";

/** A definition a listing read, and under what it may be used again. */
export interface ReadDefinition {
  info: DomainInfo;
  /** The domain's figures when it was read (DomainStats.fingerprint). */
  fingerprint: string;
  /** The events' mark taken before it was read. */
  mark: EventMark;
  /** When it was read (ms since the epoch). */
  readAt: number;
  /** LibvirtHost.changes before it was read. */
  hostChanges: number;
}

/** What a listing knows before it reads definitions. */
export interface ReuseInput {
  /** The domains listed: UUID and name. */
  domains: ReadonlyArray<{ uuid: string; name: string }>;
  /** Each domain's figures now, by name; a domain without is read. */
  fingerprints: ReadonlyMap<string, string>;
  /** What earlier listings read, by UUID. */
  known: ReadonlyMap<string, ReadDefinition>;
  /** DomainEvents.changedSince. */
  changedSince(mark: EventMark, name: string): boolean;
  /** LibvirtHost.changes now: a change this process made counts for every domain. */
  hostChanges: number;
  now: number;
  /** How long a definition read may be used again at most. */
  maxAgeMs: number;
}

/**
 * Which definitions a listing reads again and which it takes from earlier
 * listings: one is taken when it is the same domain under the same name,
 * read less than `maxAgeMs` ago, with the same figures (state, CPUs,
 * memory, block devices: what `virsh setmem --config` and the like change
 * without an event), no event named it since, and this process changed
 * nothing on the host since (its own changes are read back at once, not
 * when their events arrive). Anything else is read.
 */
export function planDefinitionReads(input: ReuseInput): {
  reuse: Map<string, DomainInfo>;
  read: string[];
} {
  const reuse = new Map<string, DomainInfo>();
  const read: string[] = [];
  for (const { uuid, name } of input.domains) {
    const known = input.known.get(uuid);
    const fingerprint = input.fingerprints.get(name);
    const usable =
      known !== undefined &&
      known.info.name === name &&
      fingerprint !== undefined &&
      known.fingerprint === fingerprint &&
      input.now - known.readAt < input.maxAgeMs &&
      known.hostChanges === input.hostChanges &&
      !input.changedSince(known.mark, name);
    if (usable) reuse.set(uuid, known.info);
    else read.push(uuid);
  }
  return { reuse, read };
}
