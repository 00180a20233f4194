import { randomBytes } from "node:crypto";
import type { LibvirtHost } from "../host/libvirt-host.js";
import type { StoragePool } from "../storage.js";

/** What an operation that makes or removes files in the pool is about to do. */
export interface JournalEntry {
  /** create, clone: the VM's files; delete: the files it removes; import: an image's partial file. */
  operation: "create" | "clone" | "delete" | "import";
  /** The VM's name ("" for an import): its files are named `<vm>-...`. */
  vm: string;
  /** The VM's domain UUID ("" for an import). */
  uuid: string;
  /** Paths of the files, in the pool's directory. */
  files: string[];
  /** The process doing it, as LibvirtHost.scratchOwner names it. */
  owner: string;
  /** The host it runs on (LibvirtHost.machine): a pool may be shared storage. */
  machine: string;
}

/** An entry as read back from the host. */
export interface JournalRecordOnHost {
  id: string;
  /** How long ago it was written, by the host's clock. */
  ageMs: number;
  /** Undefined when the file is not an entry (cut short, or not ours). */
  entry: JournalEntry | undefined;
}

/** An entry this process wrote, for an operation under way. */
interface JournalRecord {
  readonly id: string;
  /**
   * Removes the entry: the files now belong to a domain, or are gone. Never
   * throws: an entry it cannot remove is no longer this process's, and the
   * collector removes it (finding its domain, or its files gone).
   */
  done(): Promise<void>;
  /**
   * Leaves the entry for the collector: the operation ended without undoing
   * all it made (the host was unreachable, say).
   */
  leave(): void;
}

/**
 * The pool's journal: one small file per operation under way that makes or
 * removes files in the pool, in `<pool>/.virtrigaud-journal/` (0700; files
 * 0600). An operation writes its entry before it makes its first file and
 * removes it once the files belong to a defined domain (or were undone or
 * removed). An entry left behind names files of an operation that died with
 * its process: collect-orphans.ts removes them.
 */
export interface VolumeJournal {
  /** The journal's directory on the host. */
  dir(signal?: AbortSignal): Promise<string>;
  /**
   * Writes an entry for an operation of this process.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached.
   */
  record(
    entry: Omit<JournalEntry, "owner" | "machine">,
    signal?: AbortSignal,
  ): Promise<JournalRecord>;
  /** Every entry in the journal, this process's included. */
  read(signal?: AbortSignal): Promise<JournalRecordOnHost[]>;
  /** Removes entries by id. */
  remove(ids: readonly string[], signal?: AbortSignal): Promise<void>;
  /** Ids of this process's entries whose operations are still under way. */
  readonly active: ReadonlySet<string>;
}

const readScript = `
cd -- "$1" 2>/dev/null || exit 0
date +%s
for f in *.json; do
  [ -f "$f" ] || continue
  printf '%s\\t%s\\t' "$f" "$(stat -c %Y -- "$f")"
  tr -d '\\n' <"$f"
  echo
done
`;

function parseEntry(text: string): JournalEntry | undefined {
  try {
    const value = JSON.parse(text) as Partial<JournalEntry> & { version?: number };
    const operations = ["create", "clone", "delete", "import"];
    if (
      value.version !== 1 ||
      !operations.includes(value.operation ?? "") ||
      typeof value.vm !== "string" ||
      typeof value.uuid !== "string" ||
      typeof value.owner !== "string" ||
      typeof value.machine !== "string" ||
      !Array.isArray(value.files) ||
      !value.files.every((f) => typeof f === "string")
    ) {
      return undefined;
    }
    return {
      operation: value.operation as JournalEntry["operation"],
      vm: value.vm,
      uuid: value.uuid,
      files: value.files,
      owner: value.owner,
      machine: value.machine,
    };
  } catch {
    return undefined;
  }
}

/** Reads the read script's output: the host's time, then one entry a line. */
export function parseJournal(out: string): JournalRecordOnHost[] {
  const [first, ...lines] = out.split("\n");
  const now = Number(first);
  if (!Number.isFinite(now)) return [];
  const records: JournalRecordOnHost[] = [];
  for (const line of lines) {
    const [name, mtime, ...rest] = line.split("\t");
    if (!name?.endsWith(".json") || !mtime) continue;
    records.push({
      id: name.slice(0, -".json".length),
      ageMs: Math.max(0, (now - Number(mtime)) * 1000),
      entry: parseEntry(rest.join("\t")),
    });
  }
  return records;
}

/** Creates the journal of a pool. */
export function createVolumeJournal(host: LibvirtHost, pool: StoragePool): VolumeJournal {
  const active = new Set<string>();
  let made: Promise<string> | undefined;

  const dir = (signal?: AbortSignal) => pool.path(signal).then((p) => `${p}/.virtrigaud-journal`);

  const journal: VolumeJournal = {
    dir,
    async record(entry, signal) {
      made ??= dir(signal)
        .then(async (path) => {
          const result = await host.exec(["mkdir", "-p", "-m", "700", "--", path], { signal });
          if (result.exitCode !== 0) throw new Error(result.stderr.trim());
          return path;
        })
        .catch((err: unknown) => {
          made = undefined;
          throw err;
        });
      const path = await made;
      const owner = await host.scratchOwner(signal);
      const machine = await host.machine(signal);
      const id = `${entry.operation}-${entry.uuid || randomBytes(8).toString("hex")}`;
      const file = `${path}/${id}.json`;
      active.add(id);
      try {
        await host.writeFile(
          file,
          JSON.stringify({ version: 1, ...entry, owner, machine }),
          signal,
        );
      } catch (err) {
        active.delete(id);
        throw err;
      }
      return {
        id,
        async done() {
          active.delete(id);
          // Without a signal: this runs after the operation, whatever ended it.
          await host.exec(["rm", "-f", "--", file]).catch(() => undefined);
        },
        leave() {
          active.delete(id);
        },
      };
    },
    async read(signal) {
      const result = await host.exec(["sh", "-c", readScript, "sh", await dir(signal)], {
        signal,
        idempotent: true,
      });
      return parseJournal(result.stdout);
    },
    async remove(ids, signal) {
      if (!ids.length) return;
      const path = await dir(signal);
      await host.exec(["rm", "-f", "--", ...ids.map((id) => `${path}/${id}.json`)], { signal });
    },
    active,
  };
  return journal;
}
