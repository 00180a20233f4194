import { open } from "node:fs/promises";
import { ProviderError, checkChunk } from "@virtrigaud/contracts";
import { planWrite } from "./import-writes.js";
import type { VsphereOperation } from "./vsphere-context.js";

/**
 * DiskImportWrite: checks a chunk against its SHA-256 and writes it into the
 * import's staging file (zero ranges stay holes), synced before the durable
 * prefix moves, one write per import at a time.
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
      const plan = planWrite(
        { ...record, ahead: record.ahead ?? [] },
        {
          offset: chunk.offset,
          length: chunk.length,
          zero: !chunk.data,
        },
      );
      if (plan.writeData || plan.zeroFill) {
        const handle = await open(ctx.staging.importData(request.importId), "r+");
        try {
          if (plan.writeData && chunk.data)
            await handle.write(chunk.data, 0, chunk.length, chunk.offset);
          if (plan.zeroFill) {
            const { from, to } = plan.zeroFill;
            await handle.write(Buffer.alloc(to - from), 0, to - from, from);
          }
          await handle.datasync();
        } finally {
          await handle.close();
        }
      }
      const ahead = plan.next.ahead.map(([a, b]): [number, number] => [a, b]);
      if (
        plan.next.received !== record.received ||
        plan.next.dirtyEnd !== record.dirtyEnd ||
        JSON.stringify(ahead) !== JSON.stringify(record.ahead ?? [])
      ) {
        await ctx.staging.writeImport({
          ...record,
          received: plan.next.received,
          ahead,
          dirtyEnd: plan.next.dirtyEnd,
        });
      }
      return { receivedBytes: BigInt(plan.next.received) };
    },
    signal,
  );
