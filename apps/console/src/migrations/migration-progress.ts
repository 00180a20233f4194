import { MigrationPhase, type VMMigration } from "@virtrigaud/proto/manager";
import { formatBytes } from "../format/bytes";

/** How far a migration's copy has come, as its page shows it. */
export interface MigrationProgressView {
  /** 0 to 100. */
  percent: number;
  /** "12 MiB of 32 MiB", or "" before the sizes are known. */
  bytes: string;
  /** "4 MiB/s", or "" when nothing is moving. */
  rate: string;
  /** "1m30s", or "". */
  timeLeft: string;
  /** Ready or Failed: nothing will change any more. */
  finished: boolean;
}

/** What a migration's status says of its progress, for people. */
export function migrationProgress(migration: VMMigration): MigrationProgressView {
  const status = migration.status;
  const progress = status?.progress;
  const phase = status?.phase ?? MigrationPhase.UNSPECIFIED;
  const finished = phase === MigrationPhase.READY || phase === MigrationPhase.FAILED;
  const total = progress?.totalBytes ?? 0n;
  const done = progress?.transferredBytes ?? 0n;
  const percent = Math.max(0, Math.min(100, progress?.percentage ?? 0));
  return {
    percent,
    bytes: total > 0n ? `${formatBytes(done)} of ${formatBytes(total)}` : "",
    rate:
      !finished && (progress?.transferRate ?? 0n) > 0n
        ? `${formatBytes(progress?.transferRate ?? 0n)}/s`
        : "",
    timeLeft: finished ? "" : (progress?.eta ?? ""),
    finished,
  };
}
