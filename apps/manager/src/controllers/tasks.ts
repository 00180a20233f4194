import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import type { ControllerContext, Queues } from "./context.js";
import type { ProviderConnection } from "./provider-connection.js";

/** How a provider task ended: `error` undefined for success (and for a task the provider no longer knows). */
export interface TaskOutcome {
  error: Error | undefined;
}

/**
 * Follows the provider tasks of one controller's resources. A resource keeps
 * the id of its task in a status field; while the task runs it is followed,
 * and when it ends its outcome is kept (in `ctx.taskOutcomes`, which every
 * controller shares) and the resource's key is queued, so that its next
 * reconcile reads the outcome (`peek`: its plan decides on it) and forgets
 * it once the plan acted on it (`forget`); an outcome a plan did not act on
 * (the provider went away meanwhile, say) is kept for the next reconcile.
 */
export interface TaskFollower {
  /**
   * Looks at `taskId` on `conn` once: how it ended, or undefined while it
   * runs or when the provider could not say (following it will tell).
   */
  look: (conn: ProviderConnection, taskId: string) => Promise<TaskOutcome | undefined>;
  /**
   * Follows `taskId` on `conn`: when it ends, its outcome is kept and `key`
   * is queued. `looked`: `look` has just seen it running.
   */
  follow: (
    conn: ProviderConnection,
    key: string,
    taskId: string,
    options?: { looked?: boolean },
  ) => void;
  /** How `taskId` ended, if it did, without taking the outcome; undefined while it runs. */
  peek: (taskId: string) => TaskOutcome | undefined;
  /** Forgets the outcome of `taskId`: the resource has acted on it. */
  forget: (taskId: string) => void;
}

/** A TaskFollower whose ended tasks queue their resource on the controller's queue `queue`. */
export function createTaskFollower(ctx: ControllerContext, queue: keyof Queues): TaskFollower {
  return {
    look: async (conn, taskId) => {
      try {
        const ended = await conn.lookAtTask(taskId);
        return ended && outcomeOf(ended.error);
      } catch {
        return undefined;
      }
    },
    follow: (conn, key, taskId, options) => {
      conn.followTask(
        taskId,
        (error) => {
          ctx.taskOutcomes.set(taskId, error);
          ctx.queues[queue].add(key);
        },
        options,
      );
    },
    peek: (taskId) =>
      ctx.taskOutcomes.has(taskId) ? outcomeOf(ctx.taskOutcomes.get(taskId)) : undefined,
    forget: (taskId) => {
      ctx.taskOutcomes.delete(taskId);
    },
  };
}

/** A task's outcome from the error it ended with: one the provider no longer knows counts as done. */
function outcomeOf(error: Error | undefined): TaskOutcome {
  return { error: error && !ProviderError.is(error, ErrorReason.NOT_FOUND) ? error : undefined };
}
