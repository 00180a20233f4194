import type { MigrationDiskStatus } from "@virtrigaud/proto/manager";

/** A migration's overall progress, from its disks. */
export interface TransferProgress {
  totalBytes: bigint;
  transferredBytes: bigint;
  percentage: number;
  transferRate: bigint;
  eta: string;
}

/** "1h2m3s", "4m0s", "12s": a duration as people read it. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/**
 * The overall progress of the disks: the bytes the targets hold durably
 * (verified offsets) over the exports' sizes, and the time left at
 * `bytesPerSecond` (none when the rate is unknown or the copy is over).
 * Staged (`staging`), each disk is copied twice, into the staging directory
 * and out of it, and both copies count.
 */
export function transferProgress(
  disks: readonly MigrationDiskStatus[],
  bytesPerSecond: number,
  staging = false,
): TransferProgress {
  const copies = staging ? 2n : 1n;
  const totalBytes = disks.reduce((n, d) => n + d.sizeBytes * copies, 0n);
  const transferredBytes = disks.reduce(
    (n, d) =>
      n +
      (d.committed ? d.sizeBytes : d.verifiedOffset) +
      (staging ? (d.staged ? d.sizeBytes : d.stagedOffset) : 0n),
    0n,
  );
  const percentage = totalBytes ? Number((transferredBytes * 100n) / totalBytes) : 0;
  const left = Number(totalBytes - transferredBytes);
  const rate = Math.round(bytesPerSecond);
  return {
    totalBytes,
    transferredBytes,
    percentage,
    transferRate: BigInt(rate),
    eta: rate > 0 && left > 0 ? formatDuration((left / rate) * 1000) : "",
  };
}

/**
 * The progress of a live migration's final sync: the bytes of the ranges
 * changed since the snapshot that the targets hold, over all of them.
 */
export function syncProgress(
  disks: readonly MigrationDiskStatus[],
  bytesPerSecond: number,
): TransferProgress {
  const totalBytes = disks.reduce((n, d) => n + d.syncBytes, 0n);
  const transferredBytes = disks.reduce((n, d) => n + (d.synced ? d.syncBytes : d.syncedBytes), 0n);
  const percentage = totalBytes ? Number((transferredBytes * 100n) / totalBytes) : 100;
  const left = Number(totalBytes - transferredBytes);
  const rate = Math.round(bytesPerSecond);
  return {
    totalBytes,
    transferredBytes,
    percentage,
    transferRate: BigInt(rate),
    eta: rate > 0 && left > 0 ? formatDuration((left / rate) * 1000) : "",
  };
}
