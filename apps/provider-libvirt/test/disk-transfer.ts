import {
  type DiskExport,
  type ImageFormat,
  type ImageSource,
  copyDisk,
  exportDisk,
} from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";

const wait = { timeoutMs: 110_000, pollIntervalMs: 100, maxPollIntervalMs: 250 };

/** Begins an export and waits until it is ready, as the manager does. */
export function readyExport(
  client: ProviderClient,
  request: { exportId: string; vmId: string; diskName: string; format?: ImageFormat },
): Promise<DiskExport> {
  return exportDisk(client, request, wait);
}

/** What a copy moved. */
export interface CopyOutcome {
  /** The committed disk; undefined for a copy stopped at `until`. */
  disk: ImageSource | undefined;
  /** DiskExportRead calls made. */
  reads: number;
  /** Reads that carried bytes (the others travelled as zero_length). */
  dataChunks: number;
  /** The end of the furthest range read: nothing past it can have been written. */
  readEnd: number;
}

/**
 * Copies an export into an import with the manager's copier (`copyDisk`),
 * resuming from the import's received_bytes; with `until`, stops the copy
 * once the target reports that many bytes received: its durable prefix, which
 * moves at its checkpoints (a copy cut short: a few chunks in flight may land
 * after it).
 */
export async function copyExport(
  source: ProviderClient,
  target: ProviderClient,
  exported: DiskExport,
  importId: string,
  options: { concurrency?: number; until?: number } = {},
): Promise<CopyOutcome> {
  let reads = 0;
  let dataChunks = 0;
  let readEnd = 0;
  const counting: Pick<ProviderClient, "diskExportRead"> = {
    diskExportRead: async (request, call) => {
      const answer = await source.diskExportRead(request, call);
      reads++;
      readEnd = Math.max(readEnd, Number(request.offset ?? 0n) + (request.length ?? 0));
      if (answer.chunk?.content.case === "data") dataChunks++;
      return answer;
    },
  };
  const { until } = options;
  const stop = new AbortController();
  try {
    const { disk } = await copyDisk({
      source: counting,
      target,
      export: exported,
      importId,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      signal: stop.signal,
      onProgress: (p) => {
        if (until !== undefined && p.verifiedBytes >= until) stop.abort();
      },
    });
    return { disk, reads, dataChunks, readEnd };
  } catch (thrown) {
    if (until !== undefined && stop.signal.aborted)
      return { disk: undefined, reads, dataChunks, readEnd };
    throw thrown;
  }
}

/** Commits an import and waits for it; the disk to name in a Create. */
export async function commitImport(
  target: ProviderClient,
  importId: string,
): Promise<ImageSource | undefined> {
  for (;;) {
    const { disk, task, import: state } = await target.diskImportCommit({ importId });
    if (state?.committed) return disk;
    await target.waitForTask(task, wait);
  }
}
