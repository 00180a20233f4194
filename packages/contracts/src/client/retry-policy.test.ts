import { describe, expect, it } from "@jest/globals";
import { ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import { createFakeClock } from "../testing/fake-clock.js";
import { withRetries } from "./retry-policy.js";

/** An attempt that fails with the given errors in turn, then succeeds. */
function failing(...errors: ProviderError[]) {
  const calls: Array<number | undefined> = [];
  const attempt = (remaining: number | undefined) => {
    calls.push(remaining);
    const next = errors.shift();
    return next ? Promise.reject(next) : Promise.resolve("ok");
  };
  return { attempt, calls };
}

interface Outcome {
  value?: string;
  error?: ProviderError;
}

async function run(
  attempt: (r: number | undefined) => Promise<string>,
  options: Partial<Parameters<typeof withRetries>[1]> = {},
): Promise<Outcome> {
  const clock = createFakeClock();
  const result = withRetries(attempt, {
    retry: {},
    timeoutMs: undefined,
    signal: undefined,
    clock,
    random: () => 0.5,
    ...options,
  });
  const settled = result.then(
    (value): Outcome => ({ value }),
    (error: unknown): Outcome => ({ error: error as ProviderError }),
  );
  for (let i = 0; i < 20; i++) await clock.advance(10_000);
  return settled;
}

describe("retries", () => {
  it("repeats retryable failures and then succeeds", async () => {
    const { attempt, calls } = failing(
      ProviderError.unavailable("down"),
      ProviderError.retryable("busy"),
      ProviderError.resourceExhausted("slow down"),
    );
    expect((await run(attempt)).value).toBe("ok");
    expect(calls).toHaveLength(4);
  });

  it.each([
    ErrorReason.NOT_FOUND,
    ErrorReason.INVALID_SPEC,
    ErrorReason.CONFLICT,
    ErrorReason.INTERNAL,
    ErrorReason.UNAUTHENTICATED,
  ])("never repeats reason %s", async (reason) => {
    const { attempt, calls } = failing(new ProviderError(reason, "no"));
    expect((await run(attempt)).error?.reason).toBe(reason);
    expect(calls).toHaveLength(1);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const { attempt, calls } = failing(
      ...Array.from({ length: 9 }, (_, i) => ProviderError.unavailable(`down ${i}`)),
    );
    const { error } = await run(attempt, { retry: { maxAttempts: 3 } });
    expect(error?.rawMessage).toBe("down 2");
    expect(calls).toHaveLength(3);
  });

  it("waits at least the server's retry_after, with jittered exponential backoff otherwise", async () => {
    const clock = createFakeClock();
    const times: number[] = [];
    const errors = [
      ProviderError.retryable("wait", { retryAfterMs: 3000 }),
      ProviderError.unavailable("down"),
      ProviderError.unavailable("down"),
    ];
    const result = withRetries(
      () => {
        times.push(clock.now());
        const next = errors.shift();
        return next ? Promise.reject(next) : Promise.resolve("ok");
      },
      {
        retry: { initialBackoffMs: 100 },
        timeoutMs: undefined,
        signal: undefined,
        clock,
        random: () => 0.5,
      },
    );
    for (let i = 0; i < 10; i++) await clock.advance(1000);
    expect(await result).toBe("ok");
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps).toEqual([3000, 100, 200]);
  });

  it("stops when the next wait would pass the deadline, and hands each attempt the time left", async () => {
    const { attempt, calls } = failing(
      ...Array.from({ length: 9 }, () => ProviderError.unavailable("down", { retryAfterMs: 400 })),
    );
    const { error } = await run(attempt, { timeoutMs: 1000, retry: { maxAttempts: 10 } });
    expect(error?.reason).toBe(ErrorReason.UNAVAILABLE);
    expect(calls).toEqual([1000, 600, 200]);
  });

  it.each([
    ["a plain abort", () => undefined, ErrorReason.CANCELED],
    ["an abort with any reason", () => new Error("user pressed stop"), ErrorReason.CANCELED],
    [
      "a timeout signal",
      () => new DOMException("late", "TimeoutError"),
      ErrorReason.DEADLINE_EXCEEDED,
    ],
  ])("maps %s during a backoff to a typed error", async (_what, reason, expected) => {
    const controller = new AbortController();
    const clock = createFakeClock();
    const result = withRetries(() => Promise.reject(ProviderError.unavailable("down")), {
      retry: {},
      timeoutMs: undefined,
      signal: controller.signal,
      clock,
    }).catch((e: unknown) => e);
    await clock.advance(0);
    controller.abort(reason());
    expect(ProviderError.is(await result, expected)).toBe(true);
  });

  it("turns off with retry: false", async () => {
    const { attempt, calls } = failing(ProviderError.unavailable("down"));
    expect((await run(attempt, { retry: false })).error?.reason).toBe(ErrorReason.UNAVAILABLE);
    expect(calls).toHaveLength(1);
  });
});
