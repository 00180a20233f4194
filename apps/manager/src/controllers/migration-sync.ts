import { create } from "@bufbuild/protobuf";
import {
  type CopyDiskOptions,
  type DiskExport,
  DiskExportSchema,
  ImageFormat,
  copyDiskForSync,
  ProviderError,
  type SyncDiskProgress,
  type SyncDiskResult,
  exportDisk,
  syncDisk,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";
import type { MigrationDiskStatus } from "@virtrigaud/proto/manager";

/**
 * The DiskExportBegin of a disk as it is at cutover (the source shut
 * down), in RAW, listing the ranges changed since the snapshot the disks
 * were first copied from.
 */
export function syncExportRequest(
  diskName: string,
  exportId: string,
  vmId: string,
  snapshotId: string,
) {
  return {
    exportId,
    vmId,
    diskName,
    format: ImageFormat.RAW,
    changedSinceSnapshotId: snapshotId,
  };
}

/** What the final sync of one disk needs. */
interface DiskSyncOptions {
  source: Pick<ProviderClient, "diskExportBegin" | "diskExportRead" | "waitForTask">;
  target: Pick<
    ProviderClient,
    "diskImportBegin" | "diskImportWrite" | "diskImportCommit" | "waitForTask"
  >;
  /** Where the target keeps the disk, as the copy at the snapshot asked. */
  placement: CopyDiskOptions["placement"];
  vmId: string;
  snapshotId: string;
  disk: MigrationDiskStatus;
  signal: AbortSignal;
  onProgress: (progress: SyncDiskProgress) => void;
}

/**
 * The final sync of one disk: its export at cutover (made already by the
 * plan's beginSyncExport step; asked again, as it is idempotent, for its
 * changed ranges, which the status does not keep), then `syncDisk` from
 * where the status says an earlier run stopped. A target that lost the
 * import it held (a restart that kept only a prefix, or nothing) gets the
 * rest copied again first, from the export at cutover, which is the whole
 * disk as it is now. On success the disk's status describes the disk at
 * cutover: its size and SHA-256, which the target checked at commit.
 *
 * @throws ProviderError as `exportDisk` and `syncDisk` do; CONFLICT when the
 * disk's length changed since the snapshot (the import has the old one).
 */
export async function syncOneDisk(
  options: DiskSyncOptions,
): Promise<{ made: DiskExport; result: SyncDiskResult; recopiedBytes: number }> {
  const { disk } = options;
  const made = await exportDisk(
    options.source,
    syncExportRequest(disk.name, disk.syncExportId, options.vmId, options.snapshotId),
    { signal: options.signal },
  );
  if (made.sizeBytes !== disk.sizeBytes)
    throw ProviderError.conflict(
      `disk ${disk.name} is ${made.sizeBytes} bytes now and was ${disk.sizeBytes} at the snapshot: it cannot be synced`,
    );
  // The import as begun for the copy at the snapshot, under that copy's SHA-256.
  const begun = create(DiskExportSchema, { ...made, sha256: disk.sourceChecksum });
  const { import: held } = await options.target.diskImportBegin(
    {
      importId: disk.importId,
      format: begun.format,
      sizeBytes: begun.sizeBytes,
      sha256: begun.sha256,
      ...(options.placement ? { placement: options.placement } : {}),
    },
    { signal: options.signal },
  );
  let recopiedBytes = 0;
  if (!held?.committed && (held?.receivedBytes ?? 0n) < made.sizeBytes) {
    const copied = await copyDiskForSync({
      source: options.source,
      target: options.target,
      export: begun,
      importId: disk.importId,
      signal: options.signal,
      ...(options.placement ? { placement: options.placement } : {}),
    });
    recopiedBytes = copied.writtenBytes;
  }
  const result = await syncDisk({
    source: options.source,
    target: options.target,
    export: made,
    importId: disk.importId,
    // After a copy again, every range is written again: nothing is taken on trust.
    resumeFromBytes: recopiedBytes ? 0 : Number(disk.syncedBytes),
    signal: options.signal,
    onProgress: options.onProgress,
  });
  disk.synced = true;
  disk.syncedBytes = disk.syncBytes;
  disk.committed = result.import.committed;
  disk.sourceChecksum = made.sha256;
  disk.targetChecksum = made.sha256;
  return { made, result, recopiedBytes };
}
