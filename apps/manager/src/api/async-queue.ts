/** A queue one side pushes into and the other reads with `for await`. */
export interface AsyncQueue<T> extends AsyncIterable<T> {
  push(item: T): void;
  /** Ends the iteration once the queued items are read; with an error, throws it then. */
  end(error?: unknown): void;
}

/** Creates an unbounded async queue. */
export function createAsyncQueue<T>(): AsyncQueue<T> {
  const items: T[] = [];
  let waiting: (() => void) | undefined;
  let ended = false;
  let failure: unknown;
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  return {
    push(item) {
      if (ended) return;
      items.push(item);
      wake();
    },
    end(error) {
      ended = true;
      failure = error;
      wake();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const item = items.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (ended) {
          if (failure !== undefined)
            throw failure instanceof Error
              ? failure
              : new Error("the stream failed", { cause: failure });
          return;
        }
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
  };
}
