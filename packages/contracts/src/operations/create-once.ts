import { abortReason, untilAborted } from "../abort.js";

/**
 * Keeps a creation's answer for repeated calls until the returned function
 * is called (when the work the answer names, its task, has ended).
 */
export type KeepAnswer = () => () => void;

/**
 * Create-once by name: the idempotency Create, Clone and ImagePrepare need.
 * A call for a name while an earlier one for it runs gets the earlier one's
 * answer (the same VM id, the same task), and so does a repeat while that
 * answer is kept; nothing is made twice. Per the contract, a repeat never
 * conflicts on its spec: the first call's answer stands.
 */
export interface CreateOnce<R> {
  /**
   * Answers with the creation of `name` under way, or else runs `start`. The
   * answer of `start` is shared with the calls that arrive while it runs, and
   * with later ones as long as `start` keeps it (`keep()`, then the returned
   * release when the work is done); an answer it does not keep is forgotten
   * at once, so a later call looks again (and finds what was made).
   *
   * When the call a repeat waits on fails, the repeat runs `start` itself:
   * one caller's cancellation or error is not another's.
   *
   * @throws whatever `start` throws; the signal's reason when `signal` aborts
   * while the call waits on another.
   */
  run(name: string, start: (keep: KeepAnswer) => Promise<R>, signal?: AbortSignal): Promise<R>;
  /** Whether a creation of `name` is under way or its answer kept. */
  has(name: string): boolean;
}

/** Creates an empty create-once table (one per provider, or per kind of name). */
export function createOnceByName<R>(): CreateOnce<R> {
  const answers = new Map<string, Promise<R>>();

  const begin = (name: string, start: (keep: KeepAnswer) => Promise<R>): Promise<R> => {
    let kept = false;
    let released = false;
    let settled = false;
    const forget = () => {
      if (answers.get(name) === answer) answers.delete(name);
    };
    const keep: KeepAnswer = () => {
      kept = true;
      return () => {
        if (released) return;
        released = true;
        if (settled) forget();
      };
    };
    const answer = Promise.resolve().then(() => start(keep));
    answers.set(name, answer);
    // Registered first, so the table is current before any caller sees the outcome.
    answer.then(
      () => {
        settled = true;
        if (!kept || released) forget();
      },
      () => {
        settled = true;
        forget();
      },
    );
    return answer;
  };

  return {
    async run(name, start, signal) {
      for (;;) {
        if (signal?.aborted) throw abortReason(signal);
        const current = answers.get(name);
        if (!current) return begin(name, start);
        try {
          return await (signal ? untilAborted(current, signal) : current);
        } catch (err) {
          if (signal?.aborted) throw abortReason(signal);
          // The call this one waited on failed: look again, and start if no one has.
          if (answers.get(name) === current) throw err;
        }
      }
    },
    has: (name) => answers.has(name),
  };
}
