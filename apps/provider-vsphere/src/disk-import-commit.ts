import { create } from "@bufbuild/protobuf";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  ImageSourceSchema,
  ProviderError,
  type ProviderResponse,
  fileSha256,
} from "@virtrigaud/contracts";
import {
  FileAlreadyExistsError,
  datastorePath,
  makeDatastoreDirectory,
  uploadDatastoreFile,
} from "@virtrigaud/vsphere-sdk";
import { importMessage } from "./disk-import-begin.js";
import { type ImportRecord, importedDiskFiles } from "./disk-staging.js";
import { monolithicFlatDescriptor } from "./vmdk-descriptor.js";
import type { VsphereContext, VsphereOperation } from "./vsphere-context.js";

/** The answer of a committed import: the disk Create adopts. */
function committedAnswer(record: ImportRecord): ProviderResponse<"diskImportCommit"> {
  return {
    import: importMessage(record),
    disk: create(ImageSourceSchema, { source: { case: "importedDisk", value: record.importId } }),
  };
}

/** Stores the staging file as `<dir>/disk-flat.vmdk` with its monolithicFlat descriptor `disk.vmdk`. */
async function upload(
  ctx: VsphereContext,
  record: ImportRecord,
  signal: AbortSignal,
): Promise<void> {
  const { client } = ctx;
  const dc = await ctx.call(signal, () => ctx.finder.datacenter({ signal }));
  const at = (path: string) => ({
    datacenterPath: record.datacenterPath,
    datastore: record.datastore,
    path,
  });
  await ctx.call(signal, async () => {
    try {
      await makeDatastoreDirectory(client, dc.ref, datastorePath(at(record.directory)), true, {
        signal,
      });
    } catch (err) {
      if (!(err instanceof FileAlreadyExistsError)) throw err;
    }
  });
  const data = ctx.staging.importData(record.importId);
  await ctx.call(signal, () =>
    uploadDatastoreFile(
      client,
      at(`${record.directory}/${importedDiskFiles.flat}`),
      () => createReadStream(data, { highWaterMark: 1 << 20 }),
      record.sizeBytes,
      { signal },
    ),
  );
  const descriptor = monolithicFlatDescriptor({
    sizeBytes: record.sizeBytes,
    flatFileName: importedDiskFiles.flat,
    cid: randomBytes(4).toString("hex"),
  });
  await ctx.call(signal, () =>
    uploadDatastoreFile(
      client,
      at(`${record.directory}/${importedDiskFiles.descriptor}`),
      () => descriptor,
      Buffer.byteLength(descriptor),
      { signal },
    ),
  );
}

/**
 * DiskImportCommit: answers a task that checks the staging file's SHA-256
 * against the one declared at DiskImportBegin, then stores it on the
 * datastore as a monolithicFlat VMDK (the flat extent and a descriptor) in
 * the import's directory and drops the staging file. Calling again when the
 * task is done answers the committed import and the ImageSource naming it.
 * A checksum that differs fails the task with DATA_LOSS and sets the durable
 * prefix back to 0, so the import is written again.
 *
 * @throws ProviderError NOT_FOUND for an import that is not there.
 */
export const diskImportCommit: VsphereOperation<"diskImportCommit"> = async (ctx, request) => {
  const { importId } = request;
  const record = await ctx.staging.readImport(importId);
  if (!record) throw ProviderError.notFound(`there is no import ${importId}`);
  if (record.committed) return committedAnswer(record);
  const key = `import/${importId}`;
  const running = ctx.diskTasks.get(key);
  if (running) return { import: importMessage(record), task: running };
  const task = ctx.startTask(`commit import ${importId}`, async (signal, progress) => {
    try {
      await ctx.perVm.run(key, async () => {
        const current = (await ctx.staging.readImport(importId)) ?? record;
        const sha256 = await fileSha256(ctx.staging.importData(importId), signal);
        if (sha256 !== current.sha256) {
          await ctx.staging.writeImport({ ...current, received: 0, ahead: [] });
          throw ProviderError.dataLoss(
            `import ${importId} does not match its SHA-256 (${sha256} received, ${current.sha256} declared); write it again`,
          );
        }
        progress(40);
        await upload(ctx, current, signal);
        await ctx.staging.writeImport({ ...current, committed: true });
        await ctx.staging.removeImportData(importId);
      });
    } finally {
      ctx.diskTasks.delete(key);
    }
  });
  ctx.diskTasks.set(key, task);
  return { import: importMessage(record), task };
};
