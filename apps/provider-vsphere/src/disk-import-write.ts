import { open } from "node:fs/promises";
import { ProviderError, checkChunk } from "@virtrigaud/contracts";
import type { ImportRecord } from "./disk-staging.js";
import { type StagingState, planRecord, planWrite } from "./import-writes.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * DiskImportWrite: checks a chunk against its SHA-256 and writes it into the
 * import's staging file (zero ranges stay holes), one write per import at a
 * time. The import's record is written at checkpoints (planRecord), not per
 * chunk, and the file is synced only before a record moves the durable
 * prefix: a sync flushes every earlier write to the file, whatever handle
 * made it, and bytes past the recorded prefix are sent again after a crash.
 *
 * @throws ProviderError DATA_LOSS for a chunk whose bytes do not match (nothing
 * of it is kept); NOT_FOUND for an import that is not there; CONFLICT for one
 * committed already; INVALID_SPEC for a range out of the file.
 */
export const diskImportWrite: VsphereOperation<"diskImportWrite"> = (ctx, request, signal) =>
  ctx.perVm.run(
    `import/${request.importId}`,
    async () => {
      const record = await ctx.staging.readImport(request.importId);
      if (!record) throw ProviderError.notFound(`there is no import ${request.importId}`);
      if (record.committed)
        throw ProviderError.conflict(`import ${request.importId} is committed already`);
      const chunk = checkChunk(request.chunk, record.sizeBytes);
      const current = stagingState(record);
      const plan = planWrite(current, {
        offset: chunk.offset,
        length: chunk.length,
        zero: !chunk.data,
      });
      const recorded = (await ctx.staging.recordedImport(request.importId)) ?? record;
      const records = planRecord(stagingState(recorded), current, plan.next);
      if (records.before) await ctx.staging.writeImport(recordOf(record, records.before));
      // A hole chunk that crosses a checkpoint writes nothing but still syncs.
      if (plan.writeData || plan.zeroFill || records.after) {
        const handle = await open(ctx.staging.importData(request.importId), "r+");
        try {
          if (plan.writeData && chunk.data)
            await handle.write(chunk.data, 0, chunk.length, chunk.offset);
          if (plan.zeroFill) {
            const { from, to } = plan.zeroFill;
            await handle.write(Buffer.alloc(to - from), 0, to - from, from);
          }
          if (records.after) await handle.datasync();
        } finally {
          await handle.close();
        }
      }
      if (records.after) await ctx.staging.writeImport(recordOf(record, records.after));
      // The state as it is, with the exact dirtyEnd, until the next checkpoint.
      ctx.staging.noteImport(recordOf(record, plan.next));
      return { receivedBytes: BigInt(plan.next.received) };
    },
    signal,
  );

function stagingState(record: ImportRecord): StagingState {
  return {
    sizeBytes: record.sizeBytes,
    received: record.received,
    ahead: record.ahead ?? [],
    dirtyEnd: record.dirtyEnd,
  };
}

function recordOf(record: ImportRecord, state: StagingState): ImportRecord {
  return {
    ...record,
    received: state.received,
    ahead: state.ahead.map(([a, b]): [number, number] => [a, b]),
    dirtyEnd: state.dirtyEnd,
  };
}
