import { abortReason } from "../abort.js";

/**
 * One operation at a time per key (a VM id): the exclusivity that keeps two
 * changes of one VM from interleaving. Work is either queued behind what
 * holds the key (`run`, `acquire`) or refused while anything does
 * (`tryAcquire`, for a provider that answers RETRYABLE rather than wait).
 */
export interface KeyedLock {
  /**
   * Runs `work` once everything before it under `key` is done, in arrival
   * order, and holds the key until `work` settles.
   *
   * @throws whatever `work` throws; the signal's reason, without running
   * `work`, when `signal` aborts while it waits.
   */
  run<T>(key: string, work: () => Promise<T>, signal?: AbortSignal, what?: string): Promise<T>;
  /**
   * Waits for `key` as `run` does, and answers the release; a hold that
   * outlives the call (a task's) releases when its work ends.
   *
   * @throws the signal's reason when `signal` aborts while it waits.
   */
  acquire(key: string, what?: string, signal?: AbortSignal): Promise<() => void>;
  /** Takes `key` now, or answers undefined when anything holds or waits for it. */
  tryAcquire(key: string, what?: string): (() => void) | undefined;
  /** What holds `key` now (the `what` it was taken with), or undefined when it is free. */
  holder(key: string): string | undefined;
}

interface Queue {
  /** The holder first, then the waiters in arrival order. */
  entries: Array<{ what: string; grant: () => void }>;
}

/** Creates a keyed lock with every key free. */
export function createKeyedLock(): KeyedLock {
  const queues = new Map<string, Queue>();

  const releaser = (key: string, queue: Queue, entry: Queue["entries"][number]) => {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const i = queue.entries.indexOf(entry);
      if (i >= 0) queue.entries.splice(i, 1);
      const next = queue.entries[0];
      if (next) next.grant();
      else if (queues.get(key) === queue) queues.delete(key);
    };
  };

  const lock: KeyedLock = {
    acquire(key, what = "", signal) {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      let queue = queues.get(key);
      if (!queue) {
        queue = { entries: [] };
        queues.set(key, queue);
      }
      const q = queue;
      return new Promise((resolve, reject) => {
        const entry = {
          what,
          grant: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve(releaser(key, q, entry));
          },
        };
        const onAbort = () => {
          // Still waiting (a granted entry has removed this listener): leave the queue.
          const i = q.entries.indexOf(entry);
          if (i > 0) q.entries.splice(i, 1);
          reject(abortReason(signal));
        };
        q.entries.push(entry);
        if (q.entries.length === 1) entry.grant();
        else signal?.addEventListener("abort", onAbort, { once: true });
      });
    },

    tryAcquire(key, what = "") {
      if (queues.has(key)) return undefined;
      const queue: Queue = { entries: [] };
      const entry = { what, grant: () => {} };
      queue.entries.push(entry);
      queues.set(key, queue);
      return releaser(key, queue, entry);
    },

    async run(key, work, signal, what) {
      const release = await lock.acquire(key, what, signal);
      try {
        return await work();
      } finally {
        release();
      }
    },

    holder: (key) => queues.get(key)?.entries[0]?.what,
  };
  return lock;
}
