import { expect, it } from "@jest/globals";
import { createFakeClock } from "./fake-clock.js";

it("wakes sleepers in time order only when advanced", async () => {
  const clock = createFakeClock(0);
  const woke: string[] = [];
  void clock.sleep(300).then(() => woke.push("300"));
  void clock.sleep(100).then(() => woke.push("100"));
  void clock.sleep(100).then(() => woke.push("100 again"));
  expect(clock.pending).toBe(3);
  await clock.advance(99);
  expect(woke).toEqual([]);
  await clock.advance(201);
  expect(woke).toEqual(["100", "100 again", "300"]);
  expect(clock.now()).toBe(300);
});

it("runs the work a wake-up starts before moving on, so chained sleeps fit in one advance", async () => {
  const clock = createFakeClock(0);
  const times: number[] = [];
  void (async () => {
    for (let i = 0; i < 3; i++) {
      await clock.sleep(100);
      times.push(clock.now());
    }
  })();
  await clock.advance(1000);
  expect(times).toEqual([100, 200, 300]);
});

it("rejects a sleep whose signal aborts", async () => {
  const clock = createFakeClock();
  const controller = new AbortController();
  const sleeping = clock.sleep(1000, controller.signal);
  controller.abort(new Error("cancelled"));
  await expect(sleeping).rejects.toThrow("cancelled");
  expect(clock.pending).toBe(0);
});
