import type { JournalEntry, JournalRecordOnHost } from "./volume-journal.js";

/** Whether the process that wrote an entry is alive, as the host's locks tell. */
type OwnerState = "alive" | "dead" | "unknown";

/** What a sweep saw, on the host and in this process. */
export interface CollectionFacts {
  /** The pool's directory. */
  poolPath: string;
  /** Names of the pool's volumes. */
  volumes: readonly string[];
  records: readonly JournalRecordOnHost[];
  /** States of the entries' owners (other processes). */
  owners: ReadonlyMap<string, OwnerState>;
  /** This process's owner name and host, and the ids of its entries still under way. */
  self: { owner: string; machine: string; active: ReadonlySet<string> };
  /** UUIDs of every domain libvirt has. */
  domains: ReadonlySet<string>;
  /** Files any domain uses: its disks and, once read, the images below them. */
  referenced: ReadonlySet<string>;
  /** Nothing younger than this is collected. */
  graceMs: number;
}

/** Why an entry is left for a later sweep. */
type WaitReason = "in flight" | "in grace" | "owner unknown";

/** What a sweep does. */
export interface CollectionPlan {
  /** Entries of dead operations: remove these files (each only if older than the grace, on the host), then the entry. */
  collect: Array<{ id: string; entry: JournalEntry; files: string[] }>;
  /** Entries whose files belong to a domain (or were never made): remove the entry only. */
  complete: string[];
  /** Entries that cannot be read, older than the grace: removed, and reported. */
  unreadable: string[];
  waiting: Array<{ id: string; reason: WaitReason }>;
  /**
   * Volumes named like a VM's files (or a partial import) that no domain uses
   * and no entry names: ambiguous, reported and never removed.
   */
  suspects: string[];
}

/** Volume names the provider gives a VM's files and partial imports. */
const vmFileName = /^.+-(root\.qcow2|cidata\.iso|disk-.+\.(qcow2|raw))$|^\..+\.partial$/;

/**
 * A file an entry may name: directly in the pool's directory, and named
 * after the entry's VM (or a hidden partial import). Anything else in an
 * entry is never removed.
 */
function removable(poolPath: string, entry: JournalEntry, path: string): boolean {
  if (!path.startsWith(`${poolPath}/`)) return false;
  const name = path.slice(poolPath.length + 1);
  if (!name || name.includes("/") || name === "." || name === "..") return false;
  if (/^\..+\.partial$/.test(name)) return true;
  return entry.vm !== "" && name.startsWith(`${entry.vm}-`);
}

/**
 * Decides what a sweep removes and reports: a pure function of what it saw.
 *
 * An entry's files are removed only when its process is gone (it ran on this
 * host and its scratch lock is free, or, for this process, the operation is
 * no longer under way),
 * the entry is older than the grace, the domain it was making does not exist
 * (a create or clone) or no longer exists (a delete), and no domain uses the
 * file, directly or as an image below its disks, and no entry still under
 * way names it.
 */
export function planCollection(facts: CollectionFacts): CollectionPlan {
  const plan: CollectionPlan = {
    collect: [],
    complete: [],
    unreadable: [],
    waiting: [],
    suspects: [],
  };
  const state = (entry: JournalEntry, id: string): OwnerState => {
    // Another machine's process (a pool on shared storage): this host's locks say nothing of it.
    if (entry.machine !== facts.self.machine) return "unknown";
    if (entry.owner === facts.self.owner) return facts.self.active.has(id) ? "alive" : "dead";
    return facts.owners.get(entry.owner) ?? "unknown";
  };

  // Files named by entries that may still be at work are never collected.
  const named = new Set<string>();
  const pending = new Set<string>();
  for (const { id, entry } of facts.records) {
    if (!entry) continue;
    for (const f of entry.files) named.add(f);
    if (state(entry, id) !== "dead") for (const f of entry.files) pending.add(f);
  }

  for (const { id, ageMs, entry } of facts.records) {
    if (!entry) {
      if (ageMs >= facts.graceMs) plan.unreadable.push(id);
      continue;
    }
    const owner = state(entry, id);
    if (owner === "alive") {
      plan.waiting.push({ id, reason: "in flight" });
      continue;
    }
    if (owner === "unknown") {
      plan.waiting.push({ id, reason: "owner unknown" });
      continue;
    }
    if (ageMs < facts.graceMs) {
      plan.waiting.push({ id, reason: "in grace" });
      continue;
    }
    // A create or clone that defined its domain, or a delete that never undefined it.
    if (entry.uuid && facts.domains.has(entry.uuid)) {
      plan.complete.push(id);
      continue;
    }
    const files = entry.files.filter(
      (f) => removable(facts.poolPath, entry, f) && !facts.referenced.has(f) && !pending.has(f),
    );
    if (files.length) plan.collect.push({ id, entry, files });
    else plan.complete.push(id);
  }

  for (const name of facts.volumes) {
    const path = `${facts.poolPath}/${name}`;
    if (vmFileName.test(name) && !facts.referenced.has(path) && !named.has(path)) {
      plan.suspects.push(path);
    }
  }
  return plan;
}
