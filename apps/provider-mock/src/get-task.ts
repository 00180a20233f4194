import type { MockOperation } from "./mock-context.js";

/**
 * GetTask: the task's state from the tracker.
 *
 * @throws ProviderError NOT_FOUND for a task the mock does not know.
 */
export const getTask: MockOperation<"getTask"> = (ctx, request) =>
  Promise.resolve({ task: ctx.tasks.get(request.task?.id ?? "") });
