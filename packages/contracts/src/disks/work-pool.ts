import { ProviderError } from "../errors/provider-error.js";

/**
 * Runs `work` on what `next` hands out, `concurrency` at a time, until it
 * hands out nothing more or `stop` aborts. The first failure aborts `stop`,
 * so the other workers take nothing more, and is returned once every
 * worker has settled (the failures that follow from it are not).
 */
export async function runPool<T>(
  concurrency: number,
  stop: AbortController,
  next: () => T | undefined,
  work: (item: T) => Promise<void>,
): Promise<ProviderError | undefined> {
  let firstError: ProviderError | undefined;
  const worker = async () => {
    for (;;) {
      if (stop.signal.aborted) return;
      const item = next();
      if (item === undefined) return;
      try {
        await work(item);
      } catch (thrown) {
        if (!stop.signal.aborted) {
          firstError = ProviderError.from(thrown);
          stop.abort(firstError);
        }
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return firstError;
}
