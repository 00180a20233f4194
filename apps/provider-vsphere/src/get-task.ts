import { ErrorReason, ProviderError, type ProviderResponse } from "@virtrigaud/contracts";
import { type TaskInfo, fromLocalizedFault, readTask } from "@virtrigaud/vsphere-sdk";
import { toProviderError } from "./errors.js";
import { taskIdKind } from "./ids.js";
import type { VsphereOperation } from "./vsphere-context.js";

/** The Task message of a vSphere task `id` from its TaskInfo; a failed task's fault as a typed error. */
export function taskOfInfo(id: string, info: TaskInfo): ProviderResponse<"getTask">["task"] {
  const done = info.state === "success" || info.state === "error";
  const error =
    info.state === "error" && info.error
      ? ProviderError.from(toProviderError(fromLocalizedFault(info.error)))
      : undefined;
  return {
    id,
    done,
    progressPercent: info.state === "success" ? 100 : (info.progress ?? 0),
    description: `${info.descriptionId}${info.entityName ? ` ${info.entityName}` : ""}`,
    ...(error
      ? {
          error: {
            reason: error.reason,
            message: error.rawMessage,
            field: error.field ?? "",
            retryAfterMs: error.retryAfterMs ?? 0,
          },
        }
      : {}),
  };
}

/**
 * GetTask: the provider's own tasks from its task tracker, vSphere tasks from vCenter.
 *
 * @throws ProviderError INVALID_SPEC at task.id for an id that is neither;
 * NOT_FOUND for a task vCenter no longer has (or the tracker never had).
 */
export const getTask: VsphereOperation<"getTask"> = async (ctx, request, signal) => {
  const id = request.task?.id ?? "";
  const kind = taskIdKind(id);
  if (kind === "provider") return { task: ctx.tasks.get(id) };
  if (kind !== "vsphere") {
    throw ProviderError.invalidSpec(
      "task.id",
      `"${id.slice(0, 64)}" is not a task id of this provider`,
    );
  }
  const info = await ctx
    .call(signal, () => readTask(ctx.client, { type: "Task", value: id }, { signal }))
    .catch((err: unknown) => {
      if (ProviderError.is(err, ErrorReason.NOT_FOUND))
        throw ProviderError.notFound(`task ${id} does not exist or has expired`);
      throw err;
    });
  return { task: taskOfInfo(id, info) };
};
