/** How much a queue may hold before it gives up. */
export interface QueueBounds<T> {
  maxItems: number;
  maxBytes: number;
  sizeOf(item: T): number;
}

/** A queue one side pushes into and the other reads with `for await`. */
export interface AsyncQueue<T> extends AsyncIterable<T> {
  /**
   * Adds an item. False when it is not taken: the queue has ended, or the
   * item would take it past its bounds, in which case it drops everything
   * it holds and ends with `overflowed` set.
   */
  push(item: T): boolean;
  /** Ends the iteration once the queued items are read. */
  end(): void;
  /** Items waiting to be read. */
  readonly length: number;
  /** True once the queue has overflowed. */
  readonly overflowed: boolean;
}

/**
 * Creates an async queue holding at most `bounds` items and bytes. A reader
 * that falls behind does not make it grow: at the bound it overflows, and
 * its iteration then throws `overflowError()`, made when it is thrown so it
 * can say where the reader got to.
 */
export function createAsyncQueue<T>(
  bounds: QueueBounds<T>,
  overflowError: () => Error,
): AsyncQueue<T> {
  let items: Array<{ item: T; size: number }> = [];
  let bytes = 0;
  let waiting: (() => void) | undefined;
  let ended = false;
  let overflowed = false;
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  return {
    get length() {
      return items.length;
    },
    get overflowed() {
      return overflowed;
    },
    push(item) {
      if (ended) return false;
      const size = bounds.sizeOf(item);
      if (items.length + 1 > bounds.maxItems || bytes + size > bounds.maxBytes) {
        items = [];
        bytes = 0;
        ended = overflowed = true;
        wake();
        return false;
      }
      items.push({ item, size });
      bytes += size;
      wake();
      return true;
    },
    end() {
      ended = true;
      wake();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (overflowed) throw overflowError();
        const next = items.shift();
        if (next) {
          bytes -= next.size;
          yield next.item;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
  };
}
