import { describe, expect, it } from "@jest/globals";
import { createFakeClock } from "../testing/fake-clock.js";
import { createBackendLimiter } from "./backend-limiter.js";
import { createConcurrencyLimiter } from "./concurrency-limiter.js";
import { createRateLimiter } from "./rate-limiter.js";

describe("the rate limiter", () => {
  it("allows a burst, then one call per 1/qps", async () => {
    const clock = createFakeClock();
    const limiter = createRateLimiter({ qps: 10, burst: 3, clock });
    expect([limiter.tryAcquire(), limiter.tryAcquire(), limiter.tryAcquire()]).toEqual([0, 0, 0]);
    expect(limiter.tryAcquire()).toBe(100);
    await clock.advance(50);
    expect(limiter.tryAcquire()).toBe(50);
    await clock.advance(50);
    expect(limiter.tryAcquire()).toBe(0);
  });

  it("queues waiters in order at the sustained rate", async () => {
    const clock = createFakeClock();
    const limiter = createRateLimiter({ qps: 2, burst: 1, clock });
    const admitted: number[] = [];
    const waits = [1, 2, 3].map((n) => limiter.acquire().then(() => admitted.push(n)));
    await clock.advance(0);
    expect(admitted).toEqual([1]);
    await clock.advance(500);
    expect(admitted).toEqual([1, 2]);
    await clock.advance(500);
    await Promise.all(waits);
    expect(admitted).toEqual([1, 2, 3]);
  });

  it("gives a cancelled wait back", async () => {
    const clock = createFakeClock();
    const limiter = createRateLimiter({ qps: 1, burst: 1, clock });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error("gave up"));
    await expect(waiting).rejects.toThrow("gave up");
    await clock.advance(1000);
    expect(limiter.tryAcquire()).toBe(0);
  });

  it("refuses nonsense", () => {
    expect(() => createRateLimiter({ qps: 0 })).toThrow(RangeError);
    expect(() => createRateLimiter({ qps: 1, burst: 0 })).toThrow(RangeError);
  });
});

describe("the concurrency limiter", () => {
  it("runs at most `limit` at once, the rest in arrival order", async () => {
    const limiter = createConcurrencyLimiter(2);
    const gates: Array<() => void> = [];
    const order: number[] = [];
    const runs = [1, 2, 3, 4].map((n) =>
      limiter.run(
        () =>
          new Promise<number>((resolve) => {
            order.push(n);
            gates.push(() => resolve(n));
          }),
      ),
    );
    await Promise.resolve();
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(2);
    expect(order).toEqual([1, 2]);
    gates[0]?.();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([1, 2, 3]);
    gates.slice(1).forEach((open) => open());
    await new Promise((r) => setImmediate(r));
    gates.slice(3).forEach((open) => open());
    expect(await Promise.all(runs)).toEqual([1, 2, 3, 4]);
    expect(limiter.active).toBe(0);
  });

  it("frees the slot when work fails, and drops a waiter whose signal aborts", async () => {
    const limiter = createConcurrencyLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error("x")))).rejects.toThrow("x");
    let release!: () => void;
    const holder = limiter.run(() => new Promise<void>((r) => (release = r)));
    const controller = new AbortController();
    const waiter = limiter.run(() => Promise.resolve("never"), controller.signal);
    controller.abort(new Error("deadline"));
    await expect(waiter).rejects.toThrow("deadline");
    expect(limiter.waiting).toBe(0);
    release();
    await holder;
    expect(limiter.active).toBe(0);
  });
});

it("the backend limiter applies rate and concurrency together", async () => {
  const clock = createFakeClock();
  const limiter = createBackendLimiter({ qps: 10, burst: 1, concurrency: 1, clock });
  let active = 0;
  let most = 0;
  const work = async () => {
    active++;
    most = Math.max(most, active);
    await clock.sleep(10);
    active--;
  };
  const all = Promise.all([1, 2, 3].map(() => limiter.run(work)));
  await clock.advance(1000);
  await all;
  expect(most).toBe(1);
});
