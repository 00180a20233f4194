import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DiskExport, DiskExportBeginRequestSchema, TaskRef } from "@virtrigaud/proto";
import type { ProviderClient } from "../client/create-provider-client.js";
import type { WaitForTaskOptions } from "../client/wait-for-task.js";
import { ProviderError } from "../errors/provider-error.js";

/** Options of `exportDisk`: how the export's task is followed. */
export interface ExportDiskOptions extends Pick<
  WaitForTaskOptions,
  "signal" | "timeoutMs" | "pollIntervalMs" | "maxPollIntervalMs"
> {
  /** Called with the task before it is followed, when the export is made in the background. */
  onTask?: (task: TaskRef) => void | Promise<void>;
}

/**
 * A ready export: DiskExportBegin, then, when the provider makes the export
 * in the background (a conversion, a copy out of a snapshot), its task
 * followed to the end and DiskExportBegin asked again. The caller's export id
 * names one export, so asking again, here or after a restart, is safe.
 *
 * @throws ProviderError the call's or the task's error; INTERNAL when the
 * provider still has no export once its task is done.
 */
export async function exportDisk(
  client: Pick<ProviderClient, "diskExportBegin" | "waitForTask">,
  request: MessageInitShape<typeof DiskExportBeginRequestSchema> & { exportId: string },
  options: ExportDiskOptions = {},
): Promise<DiskExport> {
  const { onTask, ...wait } = options;
  const call = options.signal ? { signal: options.signal } : {};
  let answer = await client.diskExportBegin(request, call);
  if (!answer.export && answer.task) {
    await onTask?.(answer.task);
    await client.waitForTask(answer.task, wait);
    answer = await client.diskExportBegin(request, call);
  }
  if (!answer.export) {
    throw ProviderError.internal(`export ${request.exportId} is not ready once its task is done`);
  }
  return answer.export;
}
