import type { CallOptions, VimClient } from "./client/vim-client.js";
import type { ManagedObjectReference, TaskInfo } from "./gen/vim-types.js";
import { waitForUpdates } from "./property-collector.js";
import { retrieveOne } from "./property-collector.js";
import { fromLocalizedFault } from "./soap/faults.js";

/** Options of `waitForTask`. */
export interface WaitForTaskOptions extends CallOptions {
  /** Called with the task's progress (0 to 100) each time the server reports a change. */
  onProgress?: (percent: number, info: TaskInfo) => void;
}

/** True for a task that has finished, successfully or not. */
export function isTaskDone(info: TaskInfo): boolean {
  return info.state === "success" || info.state === "error";
}

/**
 * Reads a task's TaskInfo (one round trip).
 *
 * @throws ManagedObjectNotFoundError when the server no longer knows the
 * task (vCenter forgets finished tasks after a while).
 */
export async function readTask(
  client: VimClient,
  task: ManagedObjectReference,
  options: CallOptions = {},
): Promise<TaskInfo> {
  const values = await retrieveOne(client, task, ["info"], options);
  return values["info"] as TaskInfo;
}

/**
 * Waits for a task to finish by property updates (WaitForUpdatesEx), with
 * no polling, reporting progress on the way. Resolves with the TaskInfo of
 * a successful task (its `result` holds what the task made).
 *
 * @throws the typed VimFault of a failed task (RequestCanceledError for a
 * cancelled one); ManagedObjectNotFoundError for an unknown task; the
 * signal's reason when it aborts (the task itself goes on; see cancelTask).
 */
export async function waitForTask(
  client: VimClient,
  task: ManagedObjectReference,
  options: WaitForTaskOptions = {},
): Promise<TaskInfo> {
  let final: TaskInfo | undefined;
  let lastProgress = -1;
  await waitForUpdates(
    client,
    task,
    ["info"],
    (values) => {
      const info = values["info"] as TaskInfo | undefined;
      if (!info) return false;
      const progress = info.state === "success" ? 100 : (info.progress ?? 0);
      if (progress !== lastProgress) {
        lastProgress = progress;
        options.onProgress?.(progress, info);
      }
      if (!isTaskDone(info)) return false;
      final = info;
      return true;
    },
    options,
  );
  if (!final) throw new Error(`task ${task.value} ended without a result`);
  if (final.state === "error") {
    throw final.error
      ? fromLocalizedFault(final.error)
      : new Error(`task ${task.value} failed without saying why`);
  }
  return final;
}

/**
 * Asks the server to cancel a task. Only tasks that say they are cancelable
 * stop; waiting for the task then throws RequestCanceledError.
 *
 * @throws VimFault when the task cannot be cancelled (InvalidState when it
 * is done, NotSupported when it is not cancelable).
 */
export async function cancelTask(
  client: VimClient,
  task: ManagedObjectReference,
  options: CallOptions = {},
): Promise<void> {
  await client.call("CancelTask", task, {}, options);
}
