import { describe, expect, it } from "@jest/globals";
import { pollUntil } from "./poll-until.js";

describe("pollUntil", () => {
  it("returns the first read that is done, reading no further", async () => {
    let reads = 0;
    const value = await pollUntil(
      () => Promise.resolve(++reads),
      (n) => n === 3,
      5_000,
      1,
    );
    expect(value).toBe(3);
    expect(reads).toBe(3);
  });

  it("returns undefined once the time is up, having read at least once", async () => {
    let reads = 0;
    const started = Date.now();
    const value = await pollUntil(
      () => Promise.resolve(++reads),
      () => false,
      30,
      5,
    );
    expect(value).toBeUndefined();
    expect(reads).toBeGreaterThan(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  });

  it("reads once even with no time at all", async () => {
    let reads = 0;
    expect(
      await pollUntil(
        () => Promise.resolve(++reads),
        (n) => n === 1,
        0,
      ),
    ).toBe(1);
  });

  it("passes on what a read throws", async () => {
    await expect(
      pollUntil(
        () => Promise.reject(new Error("refused")),
        () => true,
        1_000,
        1,
      ),
    ).rejects.toThrow("refused");
  });
});
