import { describe, expect, it } from "@jest/globals";
import { createKeyedLock } from "./keyed-lock.js";

/** Lets queued promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("the keyed lock", () => {
  it("runs work under one key one at a time, in arrival order", async () => {
    const lock = createKeyedLock();
    const log: string[] = [];
    const step = (name: string) => async () => {
      log.push(`${name} start`);
      await settle();
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([
      lock.run("vm-1", step("a")),
      lock.run("vm-1", step("b")),
      lock.run("vm-1", step("c")),
    ]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["a start", "a end", "b start", "b end", "c start", "c end"]);
    expect(lock.holder("vm-1")).toBeUndefined();
  });

  it("runs work under different keys at once", async () => {
    const lock = createKeyedLock();
    const log: string[] = [];
    const step = (name: string) => async () => {
      log.push(`${name} start`);
      await settle();
      log.push(`${name} end`);
    };
    await Promise.all([lock.run("vm-1", step("a")), lock.run("vm-2", step("b"))]);
    expect(log).toEqual(["a start", "b start", "a end", "b end"]);
  });

  it("goes on to the next work when one fails", async () => {
    const lock = createKeyedLock();
    const failed = lock.run("vm-1", () => Promise.reject(new Error("boom")));
    const next = lock.run("vm-1", () => Promise.resolve("ran"));
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("ran");
  });

  it("refuses tryAcquire while the key is held, and names the holder", () => {
    const lock = createKeyedLock();
    const release = lock.tryAcquire("vm-1", "reconfigure");
    expect(release).toBeDefined();
    expect(lock.tryAcquire("vm-1", "power")).toBeUndefined();
    expect(lock.holder("vm-1")).toBe("reconfigure");
    expect(lock.tryAcquire("vm-2", "power")).toBeDefined();
    release?.();
    release?.(); // a second release changes nothing
    expect(lock.holder("vm-1")).toBeUndefined();
    expect(lock.tryAcquire("vm-1", "power")).toBeDefined();
  });

  it("holds a key taken with acquire until its release, as a task's work does", async () => {
    const lock = createKeyedLock();
    const release = await lock.acquire("vm-1", "delete");
    let ran = false;
    const queued = lock.run("vm-1", () => {
      ran = true;
      return Promise.resolve();
    });
    await settle();
    expect(ran).toBe(false);
    release();
    await queued;
    expect(ran).toBe(true);
  });

  it("leaves the queue without running the work when the signal aborts while it waits", async () => {
    const lock = createKeyedLock();
    const release = await lock.acquire("vm-1", "first");
    const abort = new AbortController();
    let ran = false;
    const waiting = lock.run(
      "vm-1",
      () => {
        ran = true;
        return Promise.resolve();
      },
      abort.signal,
    );
    abort.abort(new Error("caller left"));
    await expect(waiting).rejects.toThrow("caller left");
    release();
    expect(ran).toBe(false);
    expect(lock.holder("vm-1")).toBeUndefined();
    expect(lock.tryAcquire("vm-1")).toBeDefined();
  });
});
