import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { RefusalMemory, judgeRefusal } from "./refusals.js";

describe("judgeRefusal", () => {
  it.each([
    [
      ProviderError.invalidSpec("image.path", "missing"),
      { permanent: true, outage: false },
      60_000,
    ],
    [ProviderError.unsupported("no snapshots"), { permanent: true, outage: false }, 60_000],
    [ProviderError.notFound("no such network"), { permanent: true, outage: false }, 60_000],
    [ProviderError.conflict("linked clones"), { permanent: true, outage: false }, 60_000],
    [ProviderError.permissionDenied("not ours"), { permanent: true, outage: false }, 60_000],
    [ProviderError.resourceExhausted("quota"), { permanent: false, outage: false }, 1_000],
    [
      ProviderError.retryable("busy", { retryAfterMs: 5_000 }),
      { permanent: false, outage: false },
      5_000,
    ],
    [new Error("a provider's bug"), { permanent: false, outage: false }, 1_000],
    [ProviderError.unavailable("down"), { permanent: false, outage: true }, 1_000],
    [ProviderError.deadlineExceeded("slow"), { permanent: false, outage: true }, 1_000],
  ])("%s", (error, kind, firstWait) => {
    const refusal = judgeRefusal(error, 1);
    expect(refusal).toMatchObject(kind);
    expect(refusal.retryAfterMs).toBe(firstWait);
  });

  it("keeps the field in the message, and cuts a long one", () => {
    expect(judgeRefusal(ProviderError.invalidSpec("image.path", "missing"), 1).message).toBe(
      "[invalid_spec] image.path: missing",
    );
    expect(judgeRefusal(ProviderError.internal("x".repeat(5000)), 1).message.length).toBe(1027);
  });

  it("backs off exponentially to a ceiling", () => {
    const waits = [1, 2, 3, 4, 5, 6].map((n) =>
      judgeRefusal(ProviderError.invalidSpec("f", "m"), n),
    );
    expect(waits.map((w) => w.retryAfterMs)).toEqual([
      60_000, 120_000, 240_000, 480_000, 900_000, 900_000,
    ]);
    expect(judgeRefusal(ProviderError.resourceExhausted("q"), 10).retryAfterMs).toBe(60_000);
  });
});

describe("RefusalMemory", () => {
  const create = { name: "web-1", cpu: 2 };

  it("holds a refused request until its backoff is over, and counts the refusals in a row", () => {
    const memory = new RefusalMemory();
    expect(memory.ask("a", 1n, "create", create, 0)).toBe(0);
    const first = memory.refuse("a", 1n, ProviderError.invalidSpec("f", "m"), 0);
    expect(first.retryAfterMs).toBe(60_000);
    expect(memory.ask("a", 1n, "create", create, 1_000)).toBe(59_000);
    expect(memory.ask("a", 1n, "create", create, 60_000)).toBe(0);
    expect(memory.refuse("a", 1n, ProviderError.invalidSpec("f", "m"), 60_000).retryAfterMs).toBe(
      120_000,
    );
  });

  it("asks at once for a new generation or another request, and forgets after a success", () => {
    const memory = new RefusalMemory();
    memory.ask("a", 1n, "create", create, 0);
    memory.refuse("a", 1n, ProviderError.invalidSpec("f", "m"), 0);
    expect(memory.ask("a", 2n, "create", create, 1)).toBe(0);
    memory.refuse("a", 2n, ProviderError.invalidSpec("f", "m"), 1);
    expect(memory.ask("a", 2n, "create", { name: "web-1", cpu: 4 }, 2)).toBe(0);
    memory.forget("a");
    expect(memory.ask("a", 2n, "create", create, 3)).toBe(0);
  });

  it("does not hold a request after an outage: the circuit breaker paces those", () => {
    const memory = new RefusalMemory();
    memory.ask("a", 1n, "create", create, 0);
    const outage = memory.refuse("a", 1n, ProviderError.unavailable("down"), 0);
    expect(outage.outage).toBe(true);
    expect(outage.error.reason).toBe(ErrorReason.UNAVAILABLE);
    expect(memory.ask("a", 1n, "create", create, 1)).toBe(0);
  });

  it("digests a request only once it is refused or asked again, not when it goes through", () => {
    let digested = 0;
    // JSON.stringify calls toJSON: each call is one digest of the request.
    const counted = (cpu: number) => ({
      toJSON: () => {
        digested += 1;
        return { name: "web-1", cpu };
      },
    });
    const memory = new RefusalMemory();
    memory.ask("a", 1n, "create", counted(2), 0);
    memory.forget("a");
    expect(digested).toBe(0);

    memory.ask("a", 1n, "create", counted(2), 0);
    memory.refuse("a", 1n, ProviderError.invalidSpec("f", "m"), 0);
    expect(digested).toBe(1);
    // The same request, asked again, is held; another one is not.
    expect(memory.ask("a", 1n, "create", counted(2), 1)).toBe(59_999);
    expect(memory.ask("a", 1n, "create", counted(4), 1)).toBe(0);
    expect(digested).toBe(3);
  });
});
