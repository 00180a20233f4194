import { create } from "@bufbuild/protobuf";
import { ImageSourceSchema, ProviderError } from "@virtrigaud/contracts";
import { hostFileSha256 } from "./disks/host-file-sha256.js";
import { importOf, loadImport, poolNamed } from "./disks/imports.js";
import type { ImportRecord, ImportState } from "./disks/transfer-area.js";
import { importedVolumeName } from "./disks/transfer-names.js";
import type { LibvirtContext, LibvirtOperation } from "./libvirt-context.js";

/**
 * What qemu-img says of a received qcow2 file: its capacity, when it is a
 * qcow2 image standing alone. A backing file or an external data file would
 * let the sender make a VM read any file of the host.
 *
 * @throws ProviderError INVALID_SPEC naming `format` otherwise.
 */
async function qcow2Capacity(ctx: LibvirtContext, path: string, signal: AbortSignal) {
  const result = await ctx.host.exec(
    ["qemu-img", "info", "--output=json", "-f", "qcow2", "--", path],
    {
      signal,
    },
  );
  if (result.exitCode !== 0) {
    throw ProviderError.invalidSpec("format", "the file received is not a qcow2 image");
  }
  const info = JSON.parse(result.stdout) as {
    "virtual-size"?: number;
    "backing-filename"?: string;
    "format-specific"?: { data?: { "data-file"?: string } };
  };
  if (info["backing-filename"] || info["format-specific"]?.data?.["data-file"]) {
    throw ProviderError.invalidSpec(
      "format",
      "the qcow2 image received refers to other files (a backing file or an external data file)",
    );
  }
  return info["virtual-size"] ?? 0;
}

/**
 * Checks the whole file's SHA-256 (taken from the writes when this process
 * received them all in order, see InOrderDigest; read on the host
 * otherwise) against `expected` (the one declared at begin, or the one the
 * commit names after a final sync wrote ranges again), syncs it to the
 * host's disk (rewritten ranges move no checkpoint), then makes it a volume
 * of its pool (a rename within the pool's file system) and records it
 * committed. A digest that differs is remembered, so the next Commit says
 * so at once, until a write changes the file.
 */
async function commit(
  ctx: LibvirtContext,
  state: ImportState,
  expected: string,
  signal: AbortSignal,
): Promise<void> {
  await state.chain;
  const { record, files } = state;
  const pool = poolNamed(ctx, record.pool);
  const volume = `${await pool.path(signal)}/${importedVolumeName(record.id, record.format)}`;
  // A commit cut short after the rename finds the file in the pool.
  const moved = (await ctx.host.exec(["test", "-e", files.data], { signal })).exitCode !== 0;
  const path = moved ? volume : files.data;
  // The digest taken from the writes spares reading the whole file back.
  const streamed = state.digest?.result();
  const [digest] = await Promise.all([
    streamed ?? hostFileSha256(ctx, path, signal),
    ctx.execOk(["sync", "-d", "--", path], signal),
  ]);
  ctx.logger.debug(
    { importId: record.id, hashedFrom: streamed ? "writes" : "file" },
    "disk import checked",
  );
  if (digest !== expected) {
    state.mismatch = digest;
    throw ProviderError.dataLoss(
      `the file received hashes to ${digest}, not ${expected}; write the ranges again`,
    );
  }
  const capacityBytes =
    record.format === "qcow2" ? await qcow2Capacity(ctx, path, signal) : record.sizeBytes;
  if (!moved) {
    await ctx.transfers.closeFile(files.data);
    await ctx.execOk(["mv", "-f", "--", files.data, volume], signal);
  }
  await pool.refresh(signal);
  const committed: ImportRecord = {
    ...record,
    sha256: expected,
    receivedBytes: record.sizeBytes,
    committed: true,
    volume,
    capacityBytes,
  };
  await ctx.transfers.write(committed, undefined, signal);
  state.record = committed;
}

/**
 * DiskImportCommit: a committed import is the answer at once; otherwise a
 * task (once per import) checks and commits it. After the task, calling again
 * gives the disk to name in a Create.
 *
 * @throws ProviderError NOT_FOUND for an unknown import; DATA_LOSS when the
 * last check found another digest and nothing was written since.
 */
export const diskImportCommit: LibvirtOperation<"diskImportCommit"> = async (
  ctx,
  request,
  signal,
) => {
  const id = request.importId;
  const state = await loadImport(ctx, id, signal);
  if (!state) throw ProviderError.notFound(`no disk import ${JSON.stringify(id)}`);
  const disk = create(ImageSourceSchema, { source: { case: "importedDisk", value: id } });
  if (state.record.committed) return { import: importOf(state.record), disk };
  const expected = request.sha256.toLowerCase() || state.record.sha256;
  if (state.mismatch && state.mismatch !== expected) {
    throw ProviderError.dataLoss(
      `the file received hashes to ${state.mismatch}, not ${expected}; write the ranges again`,
    );
  }
  const { task } = await ctx.transfers.commitsOnce.run(
    id,
    (keep) => {
      const release = keep();
      try {
        return Promise.resolve({
          task: ctx.tasks.start(`commit disk import ${id}`, async ({ signal: taskSignal }) => {
            try {
              await commit(ctx, state, expected, taskSignal);
            } finally {
              release();
            }
          }),
        });
      } catch (err) {
        release();
        throw err;
      }
    },
    signal,
  );
  return { import: importOf(state.record), ...(task ? { task } : {}) };
};
