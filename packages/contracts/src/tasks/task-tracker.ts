import { randomUUID } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { ErrorReason, type Task, TaskSchema, type TaskRef, TaskRefSchema } from "@virtrigaud/proto";
import { type Clock, systemClock } from "../clock.js";
import { ProviderError } from "../errors/provider-error.js";
import { toErrorDetail } from "../errors/wire.js";

/** Options of a task tracker. */
export interface TaskTrackerOptions {
  /** How long a finished task stays visible to GetTask. Default: 15 minutes. */
  ttlMs?: number;
  /** Prefix of the task ids this tracker hands out. Default: "task". */
  idPrefix?: string;
  clock?: Clock;
  /**
   * Called when a task fails with an INTERNAL error, so its cause can be
   * logged. The task itself reports only the reason and a generic message.
   */
  onInternalError?: (taskId: string, error: ProviderError) => void;
}

/** What a running task's work can do. */
export interface TaskControl {
  /** Aborted when the tracker is closed. Pass it on to I/O. */
  readonly signal: AbortSignal;
  /** Reports progress from 0 to 100. */
  progress(percent: number): void;
}

/**
 * Hands out task references for work a provider runs itself, and answers
 * GetTask for them. Results are kept for a TTL after the work finishes.
 */
export interface TaskTracker {
  /**
   * Starts `work` in the background and returns its reference at once. The
   * task succeeds when `work` resolves and fails with the error it throws,
   * normalised by `ProviderError.from`.
   */
  start(description: string, work: (task: TaskControl) => Promise<void>): TaskRef;
  /**
   * The task's state as a snapshot.
   *
   * @throws ProviderError NOT_FOUND for an unknown or expired task, and
   * INVALID_SPEC for an id this tracker could not have handed out.
   */
  get(id: string): Task;
  /** Resolves when the task is done. @throws ProviderError NOT_FOUND for an unknown task. */
  settled(id: string): Promise<Task>;
  /** Aborts the signal of every running task. */
  /**
   * Aborts the signal of every running task and resolves when they have all
   * settled, so what they leave behind can be saved.
   */
  close(): Promise<void>;
  /** Tasks not yet done. */
  readonly running: number;
}

interface Entry {
  task: Task;
  finishedAt: number | undefined;
  settled: Promise<void>;
}

/** Creates a task tracker. */
export function createTaskTracker(options: TaskTrackerOptions = {}): TaskTracker {
  const ttlMs = options.ttlMs ?? 15 * 60_000;
  const prefix = options.idPrefix ?? "task";
  const clock = options.clock ?? systemClock;
  const idPattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-f-]{36}$`);
  const entries = new Map<string, Entry>();
  const closing = new AbortController();
  let running = 0;

  // Finished tasks expire lazily, oldest first: Map keeps insertion order.
  const expire = () => {
    const now = clock.now();
    for (const [id, entry] of entries) {
      if (entry.finishedAt === undefined) continue;
      if (now - entry.finishedAt < ttlMs) break;
      entries.delete(id);
    }
  };

  const lookup = (id: string): Entry => {
    if (!idPattern.test(id)) {
      throw ProviderError.invalidSpec(
        "task.id",
        `"${id.slice(0, 64)}" is not a task id of this provider`,
      );
    }
    expire();
    const entry = entries.get(id);
    if (!entry) throw ProviderError.notFound(`task ${id} does not exist or has expired`);
    return entry;
  };

  return {
    get running() {
      return running;
    },
    start(description, work) {
      expire();
      const id = `${prefix}-${randomUUID()}`;
      const task = create(TaskSchema, { id, description });
      const entry: Entry = { task, finishedAt: undefined, settled: Promise.resolve() };
      entries.set(id, entry);
      running++;
      const control: TaskControl = {
        signal: closing.signal,
        progress(percent) {
          if (!task.done) task.progressPercent = Math.max(0, Math.min(100, Math.round(percent)));
        },
      };
      entry.settled = (async () => {
        try {
          await work(control);
          task.progressPercent = 100;
        } catch (thrown) {
          const error = ProviderError.from(thrown);
          if (error.reason === ErrorReason.INTERNAL) {
            options.onInternalError?.(id, error);
            task.error = toErrorDetail(ProviderError.internal(`task ${id} failed`));
          } else {
            task.error = toErrorDetail(error);
          }
        } finally {
          task.done = true;
          running--;
          // Re-insert so expiry order follows completion order.
          entries.delete(id);
          entries.set(id, entry);
          entry.finishedAt = clock.now();
        }
      })();
      return create(TaskRefSchema, { id });
    },
    get(id) {
      return clone(TaskSchema, lookup(id).task);
    },
    async settled(id) {
      const entry = lookup(id);
      await entry.settled;
      return clone(TaskSchema, entry.task);
    },
    async close() {
      closing.abort(ProviderError.unavailable("the provider is shutting down"));
      await Promise.all([...entries.values()].map((entry) => entry.settled));
    },
  };
}
