import type { DiskExport, ImageFormat, ImageSource } from "@virtrigaud/contracts";
import type { ProviderClient } from "@virtrigaud/contracts/client";

const chunkBytes = 2 * 1024 * 1024;
const wait = { timeoutMs: 110_000, pollIntervalMs: 100, maxPollIntervalMs: 250 };

/** Begins an export and waits until it is ready (calling Begin again, as a manager would). */
export async function readyExport(
  client: ProviderClient,
  request: { exportId: string; vmId: string; diskName: string; format?: ImageFormat },
): Promise<DiskExport> {
  for (;;) {
    const { export: ready, task } = await client.diskExportBegin(request);
    if (ready) return ready;
    await client.waitForTask(task, wait);
  }
}

/** What a copy moved. */
export interface CopyOutcome {
  export: DiskExport;
  disk: ImageSource | undefined;
  /** Chunks that travelled as zero_length. */
  zeroChunks: number;
  chunks: number;
  /** Milliseconds spent waiting for reads, writes and the commit, summed over the chunks in flight. */
  readMs: number;
  writeMs: number;
  commitMs: number;
}

/**
 * Copies an export into an import, chunk by chunk with `inFlight` reads and
 * writes under way at once, resuming from the import's received_bytes, then
 * commits it and waits for the commit: the loop a manager runs, in small.
 */
export async function copyExport(
  source: ProviderClient,
  target: ProviderClient,
  exported: DiskExport,
  importId: string,
  options: { inFlight?: number; from?: number; until?: number } = {},
): Promise<CopyOutcome> {
  const { import: started } = await target.diskImportBegin({
    importId,
    format: exported.format,
    sizeBytes: exported.sizeBytes,
    sha256: exported.sha256,
  });
  const size = Number(exported.sizeBytes);
  const end = Math.min(size, options.until ?? size);
  let next = options.from ?? Number(started?.receivedBytes ?? 0n);
  let zeroChunks = 0;
  let chunks = 0;
  let readMs = 0;
  let writeMs = 0;
  const worker = async () => {
    while (next < end) {
      const offset = next;
      next += chunkBytes;
      let at = performance.now();
      const { chunk } = await source.diskExportRead({
        exportId: exported.id,
        offset: BigInt(offset),
        length: Math.min(chunkBytes, end - offset),
      });
      if (chunk?.content.case === "zeroLength") zeroChunks++;
      chunks++;
      readMs += performance.now() - at;
      at = performance.now();
      await target.diskImportWrite({ importId, chunk });
      writeMs += performance.now() - at;
    }
  };
  await Promise.all(Array.from({ length: options.inFlight ?? 4 }, worker));
  const counts = { zeroChunks, chunks, readMs, writeMs };
  if (end < size) return { export: exported, disk: undefined, ...counts, commitMs: 0 };
  const at = performance.now();
  const disk = await commitImport(target, importId);
  return { export: exported, disk, ...counts, commitMs: performance.now() - at };
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
