import { dirname } from "node:path";
import { ProviderError } from "@virtrigaud/contracts";
import type { LibvirtContext } from "../libvirt-context.js";
import type { StoragePool } from "../storage.js";
import type { DiskFormat } from "./disk-format.js";
import { loadImport, poolNamed } from "./imports.js";

/** A committed import a Create names, and where the VM will keep it. */
export interface ImportedDisk {
  id: string;
  /** The volume as DiskImportCommit left it. */
  volume: string;
  format: DiskFormat;
  capacityBytes: number;
  pool: string;
}

/**
 * The committed import a Create names in `field`.
 *
 * @throws ProviderError INVALID_SPEC naming `field` for an import that does not
 * exist, is not committed, or a VM adopted already.
 */
export async function findImportedDisk(
  ctx: LibvirtContext,
  id: string,
  field: string,
  signal?: AbortSignal,
): Promise<ImportedDisk> {
  const record = (await loadImport(ctx, id, signal))?.record;
  if (!record) throw ProviderError.invalidSpec(field, `no disk import ${JSON.stringify(id)}`);
  if (!record.committed) {
    throw ProviderError.invalidSpec(
      field,
      `disk import ${JSON.stringify(id)} is not committed: call DiskImportCommit first`,
    );
  }
  if (record.adoptedBy) {
    throw ProviderError.invalidSpec(
      field,
      `disk import ${JSON.stringify(id)} is the disk of vm ${record.adoptedBy} already`,
    );
  }
  return {
    id,
    volume: record.volume,
    format: record.format,
    capacityBytes: record.capacityBytes,
    pool: record.pool,
  };
}

/**
 * How an imported volume becomes a VM's disk: renamed when the VM's pool is on
 * the import's file system, else copied (`qemu-img convert`, holes stay holes)
 * and the import's volume removed. `devices` are the file systems (`stat %d`)
 * of the volume and of the VM's pool directory.
 */
export function planMove(devices: readonly string[]): "rename" | "copy" {
  const [volume, pool] = devices;
  return volume !== undefined && volume === pool ? "rename" : "copy";
}

/**
 * Moves the imported volume to the VM's disk path in `pool` (the one the
 * Create asks for) and grows it to `sizeBytes` when that is larger.
 */
export async function moveImportedDisk(
  ctx: LibvirtContext,
  disk: ImportedDisk,
  path: string,
  sizeBytes: number,
  pool: StoragePool,
  signal?: AbortSignal,
): Promise<void> {
  const devices = await ctx.execOk(["stat", "-c", "%d", "--", disk.volume, dirname(path)], signal);
  if (planMove(devices.trim().split("\n")) === "rename") {
    // Never over a file already there: that would be another disk.
    await ctx.execOk(
      ["sh", "-c", 'test ! -e "$2" && mv -- "$1" "$2"', "sh", disk.volume, path],
      signal,
    );
  } else {
    // Written aside and renamed, so the VM's path never names a partial copy.
    await ctx.execOk(
      [
        "sh",
        "-c",
        'test ! -e "$3" && { qemu-img convert -q -f "$1" -O "$1" "$2" "$3.partial" && mv -- "$3.partial" "$3" || { rm -f -- "$3.partial"; exit 1; }; }',
        "sh",
        disk.format,
        disk.volume,
        path,
      ],
      signal,
    );
    await ctx.execOk(["rm", "-f", "--", disk.volume], signal);
  }
  if (sizeBytes > disk.capacityBytes) {
    await ctx.execOk(
      ["qemu-img", "resize", "-q", "-f", disk.format, "--", path, String(sizeBytes)],
      signal,
    );
  }
  if (disk.pool !== ctx.pool.name) await poolNamed(ctx, disk.pool).refresh(signal);
  if (pool !== ctx.pool && pool.name !== disk.pool) await pool.refresh(signal);
}

/** Puts an imported volume back where commit left it (`mv` copies across file systems), after a Create that failed. */
export async function returnImportedDisk(
  ctx: LibvirtContext,
  disk: ImportedDisk,
  path: string,
): Promise<void> {
  await ctx.execOk(["sh", "-c", 'test ! -e "$2" && mv -- "$1" "$2"', "sh", path, disk.volume]);
}

/** Records that the VM owns the disk now: Abort leaves it, and no other Create takes it. */
export async function recordAdoption(
  ctx: LibvirtContext,
  disk: ImportedDisk,
  vmUuid: string,
  signal?: AbortSignal,
): Promise<void> {
  const state = await loadImport(ctx, disk.id, signal);
  if (!state) return;
  const record = { ...state.record, adoptedBy: vmUuid };
  await ctx.transfers.write(record, undefined, signal);
  state.record = record;
}
