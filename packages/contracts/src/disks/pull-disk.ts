import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DiskExport, PlacementSchema } from "@virtrigaud/proto";
import { callerAbortError } from "../abort.js";
import type { ProviderClient } from "../client/create-provider-client.js";
import { ProviderError } from "../errors/provider-error.js";
import { afterPass } from "./chunk-plan.js";
import type { CopyDiskHeld, CopyDiskResult } from "./copy-disk.js";
import { beginImport, commitImport } from "./import-steps.js";

/** Where a pull stands, as the target's task reports it. */
export interface PullDiskProgress {
  /** The bytes the target holds, from its task's progress (whole percents of the file). */
  readonly doneBytes: number;
  readonly totalBytes: number;
}

/** Options of `pullDisk`. */
export interface PullDiskOptions {
  /** A client of the provider that made the export: only DiskExportShare is called. */
  source: Pick<ProviderClient, "diskExportShare">;
  /** A client of the provider that receives the disk. */
  target: Pick<
    ProviderClient,
    "diskImportBegin" | "diskImportPull" | "diskImportCommit" | "waitForTask"
  >;
  /** The ready export (DiskExportBegin's answer once its task is done). */
  export: DiskExport;
  /** The import's id on the target: calling again with the same id resumes the same import. */
  importId: string;
  placement?: MessageInitShape<typeof PlacementSchema>;
  /** PEM CAs that sign the source's transfer certificate; default the target's system roots. */
  sourceCaPem?: string;
  /** How long the source's ticket lasts, in seconds. Default: the source's (an hour). */
  ticketSeconds?: number;
  onProgress?: (progress: PullDiskProgress) => void;
  /** Stops following the pull (the target's pull goes on until DiskImportAbort). */
  signal?: AbortSignal;
  /** The first wait between polls of the pull's task. Default: 200 ms. */
  pollIntervalMs?: number;
}

/** Passes over the file before a target that keeps losing its tail is given up on. */
const maxPasses = 3;

/**
 * Moves an export into an import provider to provider: DiskImportBegin
 * (which says how much an earlier attempt left), DiskExportShare on the
 * source, DiskImportPull on the target from there, its task followed, then
 * DiskImportCommit, where the target checks the whole file's SHA-256. The
 * bytes go straight from one provider to the other (over HTTP/1.1, see
 * `listenTransfers`), never through the caller. Both providers must
 * declare it: disk_export_share on the source, disk_import_pull on the
 * target; otherwise `copyDisk` moves the chunks through the caller.
 *
 * A pull that fails resumes, when called again with the same import id,
 * from what the target holds durably.
 *
 * @throws ProviderError CANCELED when `signal` aborts; CONFLICT when the
 * target holds an import of this id for another file; DATA_LOSS when the
 * target's whole-file check fails or its file stays short; otherwise the
 * failing call's or the pull's error.
 */
export async function pullDisk(options: PullDiskOptions): Promise<CopyDiskResult> {
  return (await pullAll(options, true)) as CopyDiskResult;
}

/**
 * Pulls as `pullDisk` does, but leaves the import uncommitted once the
 * target holds the whole file (unless an earlier run committed it): the
 * copy at a snapshot of a live migration, which `syncDisk` brings up to
 * date and commits.
 */
export async function pullDiskForSync(options: PullDiskOptions): Promise<CopyDiskHeld> {
  return pullAll(options, false);
}

async function pullAll(
  options: PullDiskOptions,
  commit: boolean,
): Promise<CopyDiskResult | CopyDiskHeld> {
  const signal = options.signal ?? new AbortController().signal;
  const sizeBytes = Number(options.export.sizeBytes);
  try {
    const begun = await beginImport(options.target, options, signal);
    const resumedFromBytes = Number(begun.receivedBytes);
    let held = resumedFromBytes;
    if (!begun.committed) {
      for (let pass = 1; ; pass++) {
        if (held < sizeBytes) await pullFrom(options, held, signal);
        held = Number((await beginImport(options.target, options, signal)).receivedBytes);
        const next = afterPass(held, sizeBytes, pass, maxPasses);
        if (next === "commit") break;
        if (next === "fail")
          throw ProviderError.dataLoss(
            `import ${options.importId} holds ${held} of ${sizeBytes} bytes after ${pass} pulls`,
          );
      }
    }
    const moved = {
      resumedFromBytes,
      writtenBytes: sizeBytes - resumedFromBytes,
      resentChunks: 0,
    };
    if (!commit && !begun.committed)
      return { import: { ...begun, receivedBytes: BigInt(held) }, ...moved };
    return { ...(await commitImport(options.target, options.importId, signal)), ...moved };
  } catch (thrown) {
    throw signal.aborted ? callerAbortError(signal) : ProviderError.from(thrown);
  }
}

/** One pull from `offset`, with a fresh ticket, followed to its end. */
async function pullFrom(options: PullDiskOptions, offset: number, signal: AbortSignal) {
  const { share } = await options.source.diskExportShare(
    { exportId: options.export.id, ttlSeconds: options.ticketSeconds ?? 0 },
    { signal },
  );
  if (!share) throw ProviderError.internal("DiskExportShare returned no share");
  const { task } = await options.target.diskImportPull(
    {
      importId: options.importId,
      source: share,
      sourceCaPem: options.sourceCaPem ?? "",
      offset: BigInt(offset),
      sizeBytes: options.export.sizeBytes,
    },
    { signal },
  );
  const totalBytes = Number(options.export.sizeBytes);
  await options.target.waitForTask(task, {
    signal,
    pollIntervalMs: options.pollIntervalMs ?? 200,
    maxPollIntervalMs: 2000,
    onProgress: (t) =>
      options.onProgress?.({
        doneBytes: Math.floor((totalBytes * t.progressPercent) / 100),
        totalBytes,
      }),
  });
}
