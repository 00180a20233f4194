import { ProviderError, type Ranges, addRange } from "@virtrigaud/contracts";

/** Reads `length` bytes of the image at `offset` (fewer only at its end). */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

/** What the ranges changed since a snapshot need of a qcow2 header. */
interface Qcow2Header {
  clusterBits: number;
  sizeBytes: number;
  l1Size: number;
  l1Offset: number;
  snapshotCount: number;
  snapshotsOffset: number;
  /** 8, or 16 with extended L2 entries (subclusters). */
  l2EntryBytes: number;
}

/** One internal snapshot's L1 table, from the snapshot table. */
interface Qcow2Snapshot {
  name: string;
  l1Offset: number;
  l1Size: number;
}

/** Bits 9 to 55: the offset in an L1 entry (bit 63, "copied", says only whether it is shared). */
const offsetMask = 0x00ff_ffff_ffff_fe00n;
/** Every bit of an L2 entry but bit 63 ("copied"), which a snapshot clears without a change of data. */
const entryMask = 0x7fff_ffff_ffff_ffffn;

const u32 = (b: Uint8Array, at: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
const u16 = (b: Uint8Array, at: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at);
const u64 = (b: Uint8Array, at: number) =>
  new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at);

/** @throws ProviderError INVALID_SPEC for a file that is not a qcow2 image this can read. */
function parseQcow2Header(b: Uint8Array): Qcow2Header {
  if (b.length < 72 || u32(b, 0) !== 0x514649fb)
    throw ProviderError.invalidSpec("disk_name", "the disk is not a qcow2 image");
  const version = u32(b, 4);
  if (u32(b, 32) !== 0)
    throw ProviderError.unsupported("changed ranges of an encrypted qcow2 image");
  const incompatible = version >= 3 && b.length >= 80 ? u64(b, 72) : 0n;
  return {
    clusterBits: u32(b, 20),
    sizeBytes: Number(u64(b, 24)),
    l1Size: u32(b, 36),
    l1Offset: Number(u64(b, 40)),
    snapshotCount: u32(b, 60),
    snapshotsOffset: Number(u64(b, 64)),
    l2EntryBytes: incompatible & 0x10n ? 16 : 8,
  };
}

/** The snapshot table's entries (names and L1 tables), from the bytes at snapshots_offset. */
function parseSnapshotTable(b: Uint8Array, count: number): Qcow2Snapshot[] {
  const out: Qcow2Snapshot[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const idSize = u16(b, at + 12);
    const nameSize = u16(b, at + 14);
    const extra = u32(b, at + 36);
    const nameAt = at + 40 + extra + idSize;
    out.push({
      name: new TextDecoder().decode(b.subarray(nameAt, nameAt + nameSize)),
      l1Offset: Number(u64(b, at)),
      l1Size: u32(b, at + 8),
    });
    at = Math.ceil((nameAt + nameSize) / 8) * 8;
  }
  return out;
}

/** The entries of a table (an L1 or L2 table) of `count` entries of `entryBytes`, as first words. */
function entries(b: Uint8Array, count: number, entryBytes: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * entryBytes;
    if (at + 8 > b.length) out.push(0n);
    else if (entryBytes === 16 && at + 16 <= b.length)
      // The subcluster bitmap is part of what the entry says.
      out.push(((u64(b, at) & entryMask) << 64n) | u64(b, at + 8));
    else out.push(u64(b, at) & entryMask);
  }
  return out;
}

/**
 * The ranges of the guest's disk that changed since the internal snapshot
 * `snapshotName` of a qcow2 image, read from the image's own tables: a
 * guest cluster whose L2 entry in the active table is the one the
 * snapshot's table holds still maps to the same host cluster (a cluster a
 * snapshot shares is copied on its first write, never written in place) or
 * to the same unallocated, zero or backing-file state, so its bytes are the
 * same; every other cluster is listed. Where the L1 entries are equal the
 * whole L2 table is shared and nothing under it changed. The image must not
 * be written meanwhile (its VM off).
 *
 * @throws ProviderError NOT_FOUND when the image has no such snapshot;
 * INVALID_SPEC for a file that is not qcow2; UNSUPPORTED for an encrypted one.
 */
export async function qcow2ChangedSince(read: ReadAt, snapshotName: string): Promise<Ranges> {
  const header = parseQcow2Header(await read(0, 104));
  const table = await read(header.snapshotsOffset, 64 * 1024 * Math.max(1, header.snapshotCount));
  const snapshot = parseSnapshotTable(table, header.snapshotCount).find(
    (s) => s.name === snapshotName,
  );
  if (!snapshot)
    throw ProviderError.notFound(
      `the disk has no internal snapshot ${JSON.stringify(snapshotName)}`,
    );
  const clusterBytes = 2 ** header.clusterBits;
  const l2Entries = clusterBytes / header.l2EntryBytes;
  const l1Count = Math.max(header.l1Size, snapshot.l1Size);
  const [active, then] = await Promise.all([
    read(header.l1Offset, header.l1Size * 8).then((b) => entries(b, l1Count, 8)),
    read(snapshot.l1Offset, snapshot.l1Size * 8).then((b) => entries(b, l1Count, 8)),
  ]);
  const l2Of = async (entry: bigint): Promise<bigint[]> => {
    const offset = Number(entry & offsetMask);
    if (!offset) return new Array<bigint>(l2Entries).fill(0n);
    return entries(await read(offset, clusterBytes), l2Entries, header.l2EntryBytes);
  };
  let ranges: Ranges = [];
  for (let i = 0; i < l1Count; i++) {
    const a = (active[i] ?? 0n) & offsetMask;
    const s = (then[i] ?? 0n) & offsetMask;
    if (a === s) continue;
    const [now, before] = await Promise.all([l2Of(a), l2Of(s)]);
    for (let j = 0; j < l2Entries; j++) {
      if (now[j] === before[j]) continue;
      const start = (i * l2Entries + j) * clusterBytes;
      const end = Math.min(start + clusterBytes, header.sizeBytes);
      if (end > start) ranges = addRange(ranges, start, end);
    }
  }
  return ranges;
}
