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
  /** Follows `taskId` on `conn`: when it ends, its outcome is kept and `key` is queued. */
  follow: (conn: ProviderConnection, key: string, taskId: string) => void;
  /** How `taskId` ended, if it did, without taking the outcome; undefined while it runs. */
  peek: (taskId: string) => TaskOutcome | undefined;
  /** Forgets the outcome of `taskId`: the resource has acted on it. */
  forget: (taskId: string) => void;
}

/** A TaskFollower whose ended tasks queue their resource on the controller's queue `queue`. */
export function createTaskFollower(ctx: ControllerContext, queue: keyof Queues): TaskFollower {
  return {
    follow: (conn, key, taskId) => {
      conn.followTask(taskId, (error) => {
        ctx.taskOutcomes.set(taskId, error);
        ctx.queues[queue].add(key);
      });
    },
    peek: (taskId) => {
      if (!ctx.taskOutcomes.has(taskId)) return undefined;
      const error = ctx.taskOutcomes.get(taskId);
      return {
        error: error && !ProviderError.is(error, ErrorReason.NOT_FOUND) ? error : undefined,
      };
    },
    forget: (taskId) => {
      ctx.taskOutcomes.delete(taskId);
    },
  };
}
