import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExportSourceRecord } from "./export-source.js";

/** The default staging directory: under the OS's temporary directory. */
export const defaultStagingDir = join(tmpdir(), "virtrigaud-vsphere-disks");

/**
 * An export or import id as one file or directory name: letters, digits, "-"
 * and "_" kept, every other byte percent-encoded ("." too, so "." and ".."
 * stay names). The same name is used on the datastore.
 */
export function idFileName(id: string): string {
  return Array.from(Buffer.from(id, "utf8"))
    .map((b) =>
      /[A-Za-z0-9_-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
}

/** An export made ready by DiskExportBegin. */
export interface ExportRecord {
  exportId: string;
  vmId: string;
  diskName: string;
  sizeBytes: number;
  capacityBytes: number;
  sha256: string;
  /** Where the bytes are read from. */
  source: ExportSourceRecord;
}

/** An import: received into the staging file, then stored on the datastore at commit. */
export interface ImportRecord {
  importId: string;
  sizeBytes: number;
  sha256: string;
  datacenterPath: string;
  datastore: string;
  /** The directory on the datastore the disk goes to. */
  directory: string;
  /** The durable prefix of the staging file. */
  received: number;
  /**
   * Ranges [start, end) past the prefix written and synced already (chunks
   * come out of order when several are in flight); absent in records of
   * older providers.
   */
  ahead?: Array<[number, number]>;
  /** Nothing but holes was written at or past this offset of the staging file. */
  dirtyEnd: number;
  committed: boolean;
  /** The VM that adopted the disk at Create. */
  adoptedBy?: string;
}

/** The disk's descriptor and flat extent names in an import's datastore directory. */
export const importedDiskFiles = { descriptor: "disk.vmdk", flat: "disk-flat.vmdk" } as const;

async function writeDurably(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, "w", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * The provider's staging directory: export records, and for each import its
 * record and the sparse file its chunks are written into. Records are
 * replaced whole (written, synced, renamed), so a crash leaves the old one or
 * the new one.
 */
export interface DiskStaging {
  readonly dir: string;
  readExport(id: string): Promise<ExportRecord | undefined>;
  writeExport(record: ExportRecord): Promise<void>;
  removeExport(id: string): Promise<void>;
  /** The import as it is now: the state noted last, else its record. */
  readImport(id: string): Promise<ImportRecord | undefined>;
  /** The import's record as written: what a restarted provider finds. */
  recordedImport(id: string): Promise<ImportRecord | undefined>;
  /** Writes the import's record (and forgets a noted state). */
  writeImport(record: ImportRecord): Promise<void>;
  /**
   * Keeps `record` as the import's state without writing it: writes between
   * checkpoints. The record stays as written until the next writeImport, or
   * flushImports at close.
   */
  noteImport(record: ImportRecord): void;
  /** Writes the states noted since their records: a provider that stops keeps its imports' progress. */
  flushImports(): Promise<void>;
  /** The path of an import's staging file. */
  importData(id: string): string;
  /** Makes an import's directory and its staging file of `sizeBytes`, all holes. */
  createImportData(id: string, sizeBytes: number): Promise<void>;
  /** Removes the staging file, keeping the record. */
  removeImportData(id: string): Promise<void>;
  /** Removes the import: record and staging file. */
  removeImport(id: string): Promise<void>;
}

/** The staging directory at `dir`, made when first written. */
export function createDiskStaging(dir: string): DiskStaging {
  const exportPath = (id: string) => join(dir, "exports", `${idFileName(id)}.json`);
  const importDir = (id: string) => join(dir, "imports", idFileName(id));
  const importRecord = (id: string) => join(importDir(id), "import.json");
  const importData = (id: string) => join(importDir(id), "disk.raw");
  const noted = new Map<string, ImportRecord>();
  const writeImport = async (record: ImportRecord) => {
    await mkdir(importDir(record.importId), { recursive: true, mode: 0o700 });
    await writeDurably(importRecord(record.importId), JSON.stringify(record));
    if (noted.get(record.importId) === record) noted.delete(record.importId);
  };
  return {
    dir,
    readExport: (id) => readJson<ExportRecord>(exportPath(id)),
    async writeExport(record) {
      await mkdir(join(dir, "exports"), { recursive: true, mode: 0o700 });
      await writeDurably(exportPath(record.exportId), JSON.stringify(record));
    },
    removeExport: (id) => rm(exportPath(id), { force: true }),
    readImport: async (id) => noted.get(id) ?? readJson<ImportRecord>(importRecord(id)),
    recordedImport: (id) => readJson<ImportRecord>(importRecord(id)),
    async writeImport(record) {
      noted.delete(record.importId);
      await writeImport(record);
    },
    noteImport(record) {
      noted.set(record.importId, record);
    },
    async flushImports() {
      for (const record of [...noted.values()]) await writeImport(record);
    },
    importData,
    async createImportData(id, sizeBytes) {
      await mkdir(importDir(id), { recursive: true, mode: 0o700 });
      const handle = await open(importData(id), "w", 0o600);
      try {
        await handle.truncate(sizeBytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    removeImportData: (id) => rm(importData(id), { force: true }),
    async removeImport(id) {
      noted.delete(id);
      await rm(importDir(id), { recursive: true, force: true });
    },
  };
}
