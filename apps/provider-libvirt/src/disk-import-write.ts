import {
  ProviderError,
  addRange,
  checkChunk,
  contiguousPrefix,
  shouldCheckpoint,
} from "@virtrigaud/contracts";
import { checkpoint, loadImport } from "./disks/imports.js";
import type { LibvirtOperation } from "./libvirt-context.js";

/** How far the written prefix runs ahead of the recorded one before it is synced and recorded. */
const checkpointBytes = 64 * 1024 * 1024;

/**
 * DiskImportWrite: checks the chunk (nothing of a chunk that does not match
 * its checksum is written), writes its bytes at their offset over the SFTP
 * channel, and leaves zeros as the holes the sparse staging file has there
 * (zeros over a range written before, as a final sync sends, are written).
 * The written prefix is synced and recorded every 64 MiB and at the end; the
 * answer is the recorded prefix.
 *
 * @throws ProviderError DATA_LOSS for a chunk that does not match its
 * checksum; INVALID_SPEC for one out of bounds; NOT_FOUND for an unknown
 * import; CONFLICT for a committed one.
 */
export const diskImportWrite: LibvirtOperation<"diskImportWrite"> = async (
  ctx,
  request,
  signal,
) => {
  const state = await loadImport(ctx, request.importId, signal);
  if (!state) throw ProviderError.notFound(`no disk import ${JSON.stringify(request.importId)}`);
  if (state.record.committed) {
    throw ProviderError.conflict(`disk import ${JSON.stringify(request.importId)} is committed`);
  }
  if (!request.chunk) throw ProviderError.invalidSpec("chunk", "is required");
  const chunk = checkChunk(request.chunk, state.record.sizeBytes);
  // Zeros over a range written before (a final sync's rewrite) are written; elsewhere the
  // sparse file's hole is zeros already.
  const rewrite = state.ranges.some(
    ([s, e]) => s < chunk.offset + chunk.length && e > chunk.offset,
  );
  const bytes = chunk.data ?? (rewrite ? new Uint8Array(chunk.length) : undefined);
  if (bytes) {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const file = await ctx.transfers.openFile(state.files.data, "r+", signal);
    await file.write(chunk.offset, data).catch(async (err: unknown) => {
      await ctx.transfers.closeFile(state.files.data);
      throw err;
    });
  }
  state.digest?.add(chunk.offset, chunk.length, chunk.data);
  state.ranges = addRange(state.ranges, chunk.offset, chunk.offset + chunk.length);
  state.mismatch = undefined;
  const prefix = contiguousPrefix(state.ranges);
  if (shouldCheckpoint(prefix, state.scheduled, state.record.sizeBytes, checkpointBytes)) {
    await checkpoint(ctx, state, prefix, signal);
  }
  return { receivedBytes: BigInt(state.record.receivedBytes) };
};
