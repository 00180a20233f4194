import type { ConnectError } from "@connectrpc/connect";

/**
 * `messages`, with what their iteration throws mapped by `mapError`, and
 * `ended` called once however the stream stops: done, failed (with the
 * mapped error), returned early, thrown into because its response could not
 * be written, or cancelled because the caller went away (with `mapError` of
 * the abort). A throw reaches `messages` as a return: Connect's pipeline
 * (compiled `yield*`) does not return an inner iterator that lacks `throw`,
 * so a handler's `finally` would never run. Cancellation ends it when the signal fires,
 * not when the stream is next read: Connect stops reading a cancelled stream
 * and may never return it. `around` wraps
 * each step of the inner iteration (to run it in a trace context, say). Not
 * a generator: a generator returned before its first message never runs its
 * `finally`.
 */
export function observeStream<T>(
  messages: AsyncIterable<T>,
  signal: AbortSignal,
  mapError: (thrown: unknown) => ConnectError,
  ended: (error: ConnectError | undefined) => void,
  around: <R>(step: () => R) => R = (step) => step(),
): AsyncIterable<T> {
  let over = false;
  const end = (error: ConnectError | undefined) => {
    if (!over) {
      over = true;
      signal.removeEventListener("abort", cancelled);
      ended(error);
    }
  };
  const cancelled = () => end(mapError(signal.reason));
  if (signal.aborted) cancelled();
  else signal.addEventListener("abort", cancelled, { once: true });
  return {
    [Symbol.asyncIterator]() {
      const inner = messages[Symbol.asyncIterator]();
      return {
        async next() {
          try {
            const result = await around(() => inner.next());
            if (result.done) end(undefined);
            return result;
          } catch (thrown) {
            const error = mapError(thrown);
            end(error);
            throw error;
          }
        },
        async return(value?: unknown) {
          end(signal.aborted ? mapError(signal.reason) : undefined);
          return (await inner.return?.(value)) ?? { done: true, value: undefined };
        },
        async throw(thrown?: unknown) {
          end(mapError(signal.aborted ? signal.reason : thrown));
          await inner.return?.();
          throw thrown;
        },
      };
    },
  };
}
