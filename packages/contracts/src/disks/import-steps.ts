import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DiskExport, DiskImport, ImageSource, PlacementSchema } from "@virtrigaud/proto";
import type { ProviderClient } from "../client/create-provider-client.js";
import { ProviderError } from "../errors/provider-error.js";

/** The two ends of a disk move on the target: begin (or find) the import, and commit it. */

/**
 * DiskImportBegin for `from`, which resumes an import of the same id.
 *
 * @throws ProviderError CONFLICT when the target holds an import of this id for another file.
 */
export async function beginImport(
  target: Pick<ProviderClient, "diskImportBegin">,
  options: {
    importId: string;
    export: DiskExport;
    placement?: MessageInitShape<typeof PlacementSchema> | undefined;
  },
  signal: AbortSignal,
): Promise<DiskImport> {
  const { export: from } = options;
  const { import: begun } = await target.diskImportBegin(
    {
      importId: options.importId,
      format: from.format,
      sizeBytes: from.sizeBytes,
      sha256: from.sha256,
      ...(options.placement ? { placement: options.placement } : {}),
    },
    { signal },
  );
  if (!begun) throw ProviderError.internal("DiskImportBegin returned no import");
  if (begun.sizeBytes !== from.sizeBytes || begun.format !== from.format) {
    throw ProviderError.conflict(
      `import ${options.importId} on the target is of another file (${begun.sizeBytes} bytes)`,
    );
  }
  return begun;
}

/** DiskImportCommit, following its task when the check runs long. */
export async function commitImport(
  target: Pick<ProviderClient, "diskImportCommit" | "waitForTask">,
  importId: string,
  signal: AbortSignal,
): Promise<{ import: DiskImport; disk: ImageSource }> {
  let answer = await target.diskImportCommit({ importId }, { signal });
  if (answer.task) {
    await target.waitForTask(answer.task, { signal });
    answer = await target.diskImportCommit({ importId }, { signal });
  }
  if (!answer.import?.committed || !answer.disk) {
    throw ProviderError.internal(`DiskImportCommit left import ${importId} uncommitted`);
  }
  return { import: answer.import, disk: answer.disk };
}
