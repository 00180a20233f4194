import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  compileLeaseTiming,
  delayAfterFailedRenew,
  delayAfterRenew,
  planRenew,
  stopLeadingAt,
} from "./lease-timing.js";

// ttl 3000, margin 250, allowance 500: a leader may lead 2250 ms after a send.
const timing = compileLeaseTiming({
  ttlMs: 3000,
  renewIntervalMs: 1000,
  retryIntervalMs: 400,
  safetyMarginMs: 250,
  stopAllowanceMs: 500,
});

describe("compileLeaseTiming", () => {
  it("fills River-like defaults: 15 s lease, renewed every 5 s, stopping 3 s before it ends", () => {
    expect(compileLeaseTiming({})).toEqual({
      ttlMs: 15_000,
      renewIntervalMs: 5_000,
      retryIntervalMs: 1_000,
      safetyMarginMs: 1_000,
      stopAllowanceMs: 2_000,
      leadWindowMs: 12_000,
      queryTimeoutMs: 5_000,
    });
  });

  it.each([
    ["ttlMs", { ttlMs: 0 }],
    ["ttlMs", { ttlMs: 1.5 }],
    ["retryIntervalMs", { retryIntervalMs: -1 }],
    ["safetyMarginMs", { safetyMarginMs: Number.NaN }],
    [
      "renewIntervalMs",
      { ttlMs: 3000, renewIntervalMs: 2250, safetyMarginMs: 250, stopAllowanceMs: 500 },
    ],
    ["renewIntervalMs", { ttlMs: 2000 }],
  ])("refuses %s in %j", (field, options) => {
    let thrown: unknown;
    try {
      compileLeaseTiming(options);
    } catch (error) {
      thrown = error;
    }
    expect(ProviderError.is(thrown, ErrorReason.INVALID_SPEC)).toBe(true);
    expect((thrown as ProviderError).field).toBe(field);
  });
});

describe("the leader's deadline", () => {
  it("counts from when the renew was sent, less the margin and the stop allowance", () => {
    expect(stopLeadingAt(10_000, timing)).toBe(12_250);
  });

  it.each([
    // now, stopAt, plan
    [10_000, 12_250, { kind: "renew", timeoutMs: 1000 }],
    [12_000, 12_250, { kind: "renew", timeoutMs: 250 }],
    [12_249.5, 12_250, { kind: "stop" }],
    [12_250, 12_250, { kind: "stop" }],
    [13_000, 12_250, { kind: "stop" }],
  ])("at %d with a stop at %d, plans %j", (now, stopAt, plan) => {
    expect(planRenew(now, stopAt, timing)).toEqual(plan);
  });

  it("renews a renew interval after the last send, at once when that is past", () => {
    expect(delayAfterRenew(10_050, 10_000, timing)).toBe(950);
    expect(delayAfterRenew(11_500, 10_000, timing)).toBe(0);
  });

  it("retries a failed renew after the retry interval, but no later than the stop", () => {
    expect(delayAfterFailedRenew(10_000, 12_250, timing)).toBe(400);
    expect(delayAfterFailedRenew(12_100, 12_250, timing)).toBe(150);
    expect(delayAfterFailedRenew(12_300, 12_250, timing)).toBe(0);
  });
});
