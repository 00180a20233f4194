import { type Ranges, addRange } from "@virtrigaud/contracts";

/** One write a simulated guest made into a disk of its VM. */
interface GuestWrite {
  disk: string;
  offset: number;
  data: Uint8Array;
}

/**
 * What the mock's simulated guests wrote into their disks, in order, per
 * VM, and where each snapshot stands in that log, so that an export at a
 * snapshot holds the disk as it was then and an export "changed since" a
 * snapshot lists exactly the ranges written after it. With
 * `--guest-writes SIZE`, a running guest writes SIZE bytes into its boot
 * disk right after each snapshot and as it shuts down: what a live
 * migration's final sync has to carry. Kept in memory only, like the disks'
 * bytes.
 */
export class GuestWrites {
  readonly #log = new Map<string, GuestWrite[]>();
  readonly #marks = new Map<string, number>();
  #count = 0;

  constructor(
    /** Bytes each simulated write covers; 0 turns the simulation off. */
    readonly bytesPerWrite: number,
  ) {}

  /** Records where the log of `vmId` stands when `snapshotId` is taken. */
  mark(vmId: string, snapshotId: string): void {
    this.#marks.set(`${vmId}/${snapshotId}`, this.#log.get(vmId)?.length ?? 0);
  }

  /**
   * The guest of `vmId` writes into `disk` of `diskLength` bytes: a block of
   * recognisable bytes at a place that moves with each write.
   */
  write(vmId: string, disk: string, diskLength: number): void {
    const length = Math.min(this.bytesPerWrite, diskLength);
    if (!length) return;
    this.#count += 1;
    const text = new TextEncoder().encode(`guest write ${this.#count} of ${vmId}\n`);
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = text[i % text.length] ?? 0;
    // Spread over the disk in steps of 1 MiB, so that writes seldom overlap.
    const offset = ((this.#count * 1024 * 1024) % Math.max(1, diskLength - length + 1)) & ~511;
    const log = this.#log.get(vmId) ?? [];
    log.push({ disk, offset, data });
    this.#log.set(vmId, log);
  }

  /**
   * `base` (the disk without guest writes) with the writes into `disk` made
   * before `snapshotId` (every write when it is undefined) applied in place.
   */
  apply(vmId: string, disk: string, base: Uint8Array, snapshotId?: string): Uint8Array {
    for (const w of this.#writes(vmId, disk, 0, this.#upTo(vmId, snapshotId))) {
      base.set(w.data.subarray(0, Math.max(0, base.length - w.offset)), w.offset);
    }
    return base;
  }

  /** The ranges of `disk` written after `snapshotId`, within `length` bytes. */
  changedSince(vmId: string, disk: string, snapshotId: string, length: number): Ranges {
    let ranges: Ranges = [];
    const log = this.#log.get(vmId) ?? [];
    for (const w of this.#writes(vmId, disk, this.#upTo(vmId, snapshotId), log.length)) {
      const end = Math.min(length, w.offset + w.data.length);
      if (end > w.offset) ranges = addRange(ranges, w.offset, end);
    }
    return ranges;
  }

  /** Whether `snapshotId` of `vmId` was marked (taken by this process). */
  knows(vmId: string, snapshotId: string): boolean {
    return this.#marks.has(`${vmId}/${snapshotId}`);
  }

  /** Forgets a VM that is gone. */
  forget(vmId: string): void {
    this.#log.delete(vmId);
    for (const key of [...this.#marks.keys()])
      if (key.startsWith(`${vmId}/`)) this.#marks.delete(key);
  }

  #upTo(vmId: string, snapshotId: string | undefined): number {
    const all = this.#log.get(vmId)?.length ?? 0;
    return snapshotId === undefined ? all : (this.#marks.get(`${vmId}/${snapshotId}`) ?? all);
  }

  #writes(vmId: string, disk: string, from: number, to: number): GuestWrite[] {
    return (this.#log.get(vmId) ?? []).slice(from, to).filter((w) => w.disk === disk);
  }
}
