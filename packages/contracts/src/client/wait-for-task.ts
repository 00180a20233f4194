import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { CallOptions } from "@connectrpc/connect";
import type { GetTaskRequestSchema, GetTaskResponseSchema, Task, TaskRef } from "@virtrigaud/proto";
import { type Clock, systemClock } from "../clock.js";
import { callerAbortError } from "../abort.js";
import { ProviderError } from "../errors/provider-error.js";

/** Options of `waitForTask`. */
export interface WaitForTaskOptions {
  signal?: AbortSignal;
  /** Give up after this long with DEADLINE_EXCEEDED. Default: no limit. */
  timeoutMs?: number;
  /** The first wait between polls. Default: 100 ms; it grows by half each poll. */
  pollIntervalMs?: number;
  /** The longest wait between polls. Default: 2000 ms. */
  maxPollIntervalMs?: number;
  /** Called with each poll's state, for progress reports. */
  onProgress?: (task: Task) => void;
  clock?: Clock;
}

type GetTask = (
  request: MessageInitShape<typeof GetTaskRequestSchema>,
  options?: CallOptions,
) => Promise<MessageShape<typeof GetTaskResponseSchema>>;

/**
 * Polls GetTask until the task is done and returns its final state.
 * Returns undefined at once for an operation that finished without a task.
 *
 * @throws ProviderError the task's typed error when it failed;
 * DEADLINE_EXCEEDED when `timeoutMs` passes first; CANCELED when the signal
 * aborts; the GetTask call's error (NOT_FOUND for an unknown task) when
 * polling fails.
 */
export async function waitForTask(
  getTask: GetTask,
  task: TaskRef | string | undefined,
  options: WaitForTaskOptions = {},
): Promise<Task | undefined> {
  const id = typeof task === "string" ? task : task?.id;
  if (!id) return undefined;
  try {
    return await pollUntilDone(getTask, id, options);
  } catch (thrown) {
    throw options.signal?.aborted ? callerAbortError(options.signal) : ProviderError.from(thrown);
  }
}

async function pollUntilDone(
  getTask: GetTask,
  id: string,
  options: WaitForTaskOptions,
): Promise<Task> {
  const clock = options.clock ?? systemClock;
  const deadline = options.timeoutMs === undefined ? undefined : clock.now() + options.timeoutMs;
  const maxInterval = options.maxPollIntervalMs ?? 2000;
  let interval = options.pollIntervalMs ?? 100;
  for (;;) {
    options.signal?.throwIfAborted();
    const { task: state } = await getTask(
      { task: { id } },
      options.signal ? { signal: options.signal } : {},
    );
    if (!state) throw ProviderError.internal(`GetTask returned no task for ${id}`);
    options.onProgress?.(state);
    if (state.done) {
      if (state.error) throw ProviderError.fromDetail(state.error);
      return state;
    }
    if (deadline !== undefined && clock.now() + interval > deadline) {
      throw ProviderError.deadlineExceeded(
        `task ${id} was not done within ${options.timeoutMs} ms`,
      );
    }
    await clock.sleep(interval, options.signal);
    interval = Math.min(maxInterval, Math.ceil(interval * 1.5));
  }
}
