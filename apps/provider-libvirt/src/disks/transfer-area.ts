import {
  type CreateOnce,
  ProviderError,
  type TaskRef,
  createOnceByName,
} from "@virtrigaud/contracts";
import type { HostFile } from "../host/host-transport.js";
import type { LibvirtHost } from "../host/libvirt-host.js";
import type { StoragePool } from "../storage.js";
import type { Extents } from "./data-extents.js";
import type { DiskFormat } from "./disk-format.js";
import type { InOrderDigest } from "./in-order-digest.js";
import type { Ranges } from "@virtrigaud/contracts";
import { type TransferFiles, transferFiles } from "./transfer-names.js";

/** What an export is, as its record on the host says. */
export interface ExportRecord {
  kind: "export";
  id: string;
  vmId: string;
  diskName: string;
  format: DiskFormat;
  /** False while the conversion runs (or was cut short). */
  ready: boolean;
  sizeBytes: number;
  sha256: string;
  capacityBytes: number;
  /** The ranges of the staging file that hold data; reads elsewhere are zeros without I/O. */
  dataExtents: Extents;
  /** Exported at this internal snapshot ("" for the disk as it is). */
  snapshotId?: string;
  /** Exported with the ranges changed since this internal snapshot. */
  changedSince?: string;
  /** Those ranges, [start, end) of the staging file (RAW: the guest's offsets). */
  changedRanges?: Extents;
}

/** What an import is, as its record on the host says. */
export interface ImportRecord {
  kind: "import";
  id: string;
  format: DiskFormat;
  sizeBytes: number;
  sha256: string;
  /** The storage pool the disk goes to at commit. */
  pool: string;
  /** The prefix synced to the host's disk before this record was written. */
  receivedBytes: number;
  committed: boolean;
  /** The volume's path, once committed. */
  volume: string;
  capacityBytes: number;
  /** The UUID of the VM that adopted the disk; "" while none has. */
  adoptedBy: string;
}

/** An import this process is receiving: its record and what was written since. */
export interface ImportState {
  record: ImportRecord;
  files: TransferFiles;
  /** Ranges written (the durable prefix included). */
  ranges: Ranges;
  /** The prefix a checkpoint was last started for. */
  scheduled: number;
  /** Checkpoints one after another. */
  chain: Promise<void>;
  /** The digest the last commit found, when it differed; a write clears it. */
  mismatch: string | undefined;
  /**
   * The file's SHA-256 taken from the writes, for an import begun by this
   * process (see InOrderDigest); undefined after a restart, when the commit
   * hashes the file on the host.
   */
  digest: InOrderDigest | undefined;
}

/** A conversion under way, so DiskExportEnd can stop it. */
interface RunningExport {
  task: TaskRef;
  abort: AbortController;
  settled: Promise<void>;
}

/**
 * The staging area of disk transfers: `<pool>/.virtrigaud-transfers/` (0700)
 * in the provider's pool, one data file and one JSON record per export or
 * import, named after the escaped id (see transfer-names.ts), so that a
 * provider that restarted finds them again. The pool's directory keeps them on
 * the disks' own file system: a committed import becomes a volume by a rename.
 */
export interface TransferArea {
  /** The staging directory, made on first use. */
  dir(signal?: AbortSignal): Promise<string>;
  files(kind: "export" | "import", id: string, signal?: AbortSignal): Promise<TransferFiles>;
  /** The record, or undefined when there is none. */
  read<R extends ExportRecord | ImportRecord>(
    kind: R["kind"],
    id: string,
    signal?: AbortSignal,
  ): Promise<R | undefined>;
  /**
   * Replaces the record (written aside, then renamed over it). With `sync`,
   * that file is flushed to the host's disk first, so the record never claims
   * bytes a crash of the host could lose.
   */
  write(record: ExportRecord | ImportRecord, sync?: string, signal?: AbortSignal): Promise<void>;
  /**
   * The staging file open on the host, kept open for the next chunk. After a
   * failed read or write, `closeFile` it so the next call opens it again.
   */
  openFile(path: string, mode: "r" | "r+", signal?: AbortSignal): Promise<HostFile>;
  /** Closes the file if it is open: before it is moved or removed, or after a failure. */
  closeFile(path: string): Promise<void>;
  /** Removes every file of the transfer (closing them first). */
  remove(kind: "export" | "import", id: string, signal?: AbortSignal): Promise<void>;
  /** Exports ready to be read, by id: their records, read once. */
  readonly ready: Map<string, ExportRecord>;
  /** Exports being converted by this process, by id. */
  readonly converting: Map<string, RunningExport>;
  /** Begin of an export once per id, so a repeated call finds the same task. */
  readonly exportsOnce: CreateOnce<{ task?: TaskRef }>;
  /** Imports this process received writes for, by id. */
  readonly imports: Map<string, ImportState>;
  /** Commit of an import once per id, so a repeated call finds the same task. */
  readonly commitsOnce: CreateOnce<{ task?: TaskRef }>;
}

/** Creates the staging area in the pool's directory. */
export function createTransferArea(host: LibvirtHost, pool: StoragePool): TransferArea {
  let made: Promise<string> | undefined;
  // Open handles by path. A handle follows its file's inode, so it is closed
  // before the file is moved or removed: a new file of that name is opened anew.
  const open = new Map<string, { mode: "r" | "r+"; file: Promise<HostFile> }>();
  const execOk = async (argv: readonly string[], signal?: AbortSignal) => {
    const result = await host.exec(argv, { signal });
    if (result.exitCode !== 0) {
      throw ProviderError.internal(
        `${argv[0]} failed on the host (exit status ${result.exitCode}): ${result.stderr.trim()}`,
      );
    }
  };
  const area: TransferArea = {
    dir(signal) {
      made ??= (async () => {
        const dir = `${await pool.path(signal)}/.virtrigaud-transfers`;
        await execOk(["mkdir", "-p", "-m", "700", "--", dir], signal);
        return dir;
      })().catch((err: unknown) => {
        made = undefined;
        throw err;
      });
      return made;
    },
    async files(kind, id, signal) {
      return transferFiles(await area.dir(signal), kind, id);
    },
    async read<R extends ExportRecord | ImportRecord>(
      kind: R["kind"],
      id: string,
      signal?: AbortSignal,
    ) {
      const files = await area.files(kind, id, signal);
      // Read once per transfer and process: a shell is fine, and it takes any length.
      const result = await host.exec(["cat", "--", files.record], { signal, idempotent: true });
      if (result.exitCode !== 0) {
        if (/No such file/i.test(result.stderr)) return undefined;
        throw ProviderError.internal(`cannot read ${files.record}: ${result.stderr.trim()}`);
      }
      const record = JSON.parse(result.stdout) as R;
      // Two ids cut to the same name (see transferKey) never share a record.
      return record.kind === kind && record.id === id ? record : undefined;
    },
    async write(record, sync, signal) {
      const files = await area.files(record.kind, record.id, signal);
      await host.writeFile(files.recordNext, JSON.stringify(record), signal);
      await execOk(
        sync
          ? [
              "sh",
              "-c",
              'sync -d -- "$1" && mv -f -- "$2" "$3"',
              "sh",
              sync,
              files.recordNext,
              files.record,
            ]
          : ["mv", "-f", "--", files.recordNext, files.record],
        signal,
      );
    },
    openFile(path, mode, signal) {
      const known = open.get(path);
      if (known?.mode === mode || known?.mode === "r+") return known.file;
      const file = host.openFile(path, mode, signal);
      open.set(path, { mode, file });
      file.catch(() => {
        if (open.get(path)?.file === file) open.delete(path);
      });
      return file;
    },
    async closeFile(path) {
      const known = open.get(path);
      if (!known) return;
      open.delete(path);
      await known.file.then(
        (f) => f.close(),
        () => undefined,
      );
    },
    async remove(kind, id, signal) {
      const f = await area.files(kind, id, signal);
      await area.closeFile(f.data);
      await execOk(["rm", "-f", "--", f.data, f.partial, f.record, f.recordNext], signal);
    },
    ready: new Map(),
    converting: new Map(),
    exportsOnce: createOnceByName(),
    imports: new Map(),
    commitsOnce: createOnceByName(),
  };
  return area;
}
