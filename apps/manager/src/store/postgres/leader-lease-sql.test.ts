import { describe, expect, it } from "@jest/globals";
import { readAcquireOutcome } from "./leader-lease-sql.js";

const acquiredAt = new Date("2026-12-04T14:00:00Z");

describe("readAcquireOutcome", () => {
  it("reads a taken lease with its int8 term as a bigint", () => {
    expect(
      readAcquireOutcome([
        { holder: "a", term: "9007199254740993", acquired_at: acquiredAt, taken: true, live: true },
      ]),
    ).toEqual({ taken: true, holder: "a", term: 9007199254740993n, acquiredAt, live: true });
  });

  it("reads who holds a lease it did not take, live or expired", () => {
    expect(
      readAcquireOutcome([
        { holder: "b", term: "3", acquired_at: acquiredAt, taken: false, live: false },
      ]),
    ).toMatchObject({ taken: false, holder: "b", term: 3n, live: false });
  });

  it("reads nothing when the lease has never been held", () => {
    expect(readAcquireOutcome([])).toBeUndefined();
  });

  it.each([
    [{ holder: "a", term: 3, acquired_at: acquiredAt, taken: true, live: true }],
    [{ holder: "a", term: "x", acquired_at: acquiredAt, taken: true, live: true }],
    [{ holder: "a", term: "3", acquired_at: "2026-12-04", taken: true, live: true }],
    [{ holder: "a", term: "3", acquired_at: acquiredAt, live: true }],
    [null],
  ])("refuses a row of another shape: %j", (row) => {
    expect(() => readAcquireOutcome([row])).toThrow("unexpected row");
  });
});
