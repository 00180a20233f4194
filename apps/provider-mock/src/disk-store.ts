import { type ImageFormat, ProviderError } from "@virtrigaud/contracts";
import type { Ranges } from "@virtrigaud/contracts";
import { GuestWrites } from "./guest-writes.js";

/** A disk frozen for reading by DiskExportRead. */
export interface ExportRecord {
  id: string;
  vmId: string;
  diskName: string;
  snapshotId: string;
  format: ImageFormat;
  capacityBytes: number;
  /** Set once the export is made; while its task runs, `taskId` is. */
  bytes: Uint8Array | undefined;
  sha256: string;
  taskId: string;
  /** Changed since a snapshot: the ranges written after it. */
  changedRanges: Ranges;
}

/** A file being received by DiskImportWrite, then a disk a VM may adopt. */
export interface ImportRecord {
  id: string;
  format: ImageFormat;
  sha256: string;
  bytes: Uint8Array;
  written: Ranges;
  committed: boolean;
  /** The VM whose disk it became ("" before); it goes with the VM and its clones. */
  adoptedBy: string;
}

/**
 * The disk bytes the mock holds, all in memory: exports (frozen copies) and
 * imports (received, then adopted by a VM), within a budget of bytes.
 * Nothing of it is written to the state file: after a restart exports and
 * imports are gone, and a VM that had adopted an import has lost its bytes.
 */
export class DiskStore {
  readonly exports = new Map<string, ExportRecord>();
  readonly imports = new Map<string, ImportRecord>();
  /** What the simulated guests wrote into their disks (`--guest-writes`). */
  readonly guest: GuestWrites;
  #held = 0;

  constructor(
    /** The most bytes of exports and imports held at once. */
    readonly budgetBytes: number,
    /** The length of the bytes of a disk that was not imported. */
    readonly generatedDiskBytes: number,
    /** Bytes a running guest writes after each snapshot and as it shuts down (0: none). */
    guestWriteBytes = 0,
  ) {
    this.guest = new GuestWrites(guestWriteBytes);
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.#held;
  }

  /**
   * Counts `bytes` against the budget.
   *
   * @throws ProviderError RESOURCE_EXHAUSTED past the budget.
   */
  reserve(bytes: number, what: string): void {
    if (this.#held + bytes > this.budgetBytes) {
      throw ProviderError.resourceExhausted(
        `${what} needs ${bytes} bytes; the mock holds ${this.#held} of its ${this.budgetBytes} (--disk-memory)`,
        { retryAfterMs: 1000 },
      );
    }
    this.#held += bytes;
  }

  release(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }

  dropExport(id: string): void {
    const record = this.exports.get(id);
    if (!record) return;
    this.exports.delete(id);
    if (record.bytes) this.release(record.bytes.length);
  }

  dropImport(id: string): void {
    const record = this.imports.get(id);
    if (!record) return;
    this.imports.delete(id);
    this.release(record.bytes.length);
  }

  /** Frees adopted imports no VM's disk names any more (its VMs, clones included, are gone). */
  dropAdoptedExcept(stillUsed: ReadonlySet<string>): void {
    for (const record of [...this.imports.values()]) {
      if (record.adoptedBy && !stillUsed.has(record.id)) this.dropImport(record.id);
    }
  }
}
