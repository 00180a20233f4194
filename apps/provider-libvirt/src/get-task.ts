import type { LibvirtOperation } from "./libvirt-context.js";

/**
 * GetTask: the task's state from the tracker.
 *
 * @throws ProviderError NOT_FOUND for a task the provider does not know.
 */
export const getTask: LibvirtOperation<"getTask"> = (ctx, request) =>
  Promise.resolve({ task: ctx.tasks.get(request.task?.id ?? "") });
