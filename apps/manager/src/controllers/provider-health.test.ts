import { describe, expect, it } from "@jest/globals";
import { ProviderError } from "@virtrigaud/contracts";
import {
  type HealthPacing,
  healthFailureReason,
  nextPacing,
  pacingAfterCallsFailed,
  probeBackoffMs,
} from "./provider-health.js";

const settings = { minProbeIntervalMs: 1000, maxProbeIntervalMs: 30_000 };
const failed = { healthy: false as const, reason: "WrongProtocol", message: "no HTTP/2" };

describe("probeBackoffMs", () => {
  it("doubles from the minimum up to the maximum", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => probeBackoffMs(n, settings))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});

describe("nextPacing", () => {
  it("checks a healthy provider again after the interval, and forgets failures", () => {
    const previous: HealthPacing = { failures: 4, nextCheckAt: 0, last: failed };
    expect(nextPacing(previous, { healthy: true, message: "ok" }, 5000, 10_000, settings)).toEqual({
      failures: 0,
      nextCheckAt: 15_000,
      last: { healthy: true, message: "ok" },
    });
  });

  it("checks a failing provider 1 s, 2 s, 4 s after each failure in a row", () => {
    let pacing: HealthPacing | undefined;
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 4; i++) {
      pacing = nextPacing(pacing, failed, now, 10_000, settings);
      waits.push(pacing.nextCheckAt - now);
      now = pacing.nextCheckAt;
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000]);
  });
});

describe("pacingAfterCallsFailed", () => {
  it("reports the calls' error at once and probes after the first backoff", () => {
    const healthy: HealthPacing = {
      failures: 0,
      nextCheckAt: 60_000,
      last: { healthy: true, message: "ok" },
    };
    expect(pacingAfterCallsFailed(healthy, "refused", 5000, settings)).toEqual({
      failures: 1,
      nextCheckAt: 6000,
      last: { healthy: false, reason: "ProviderUnavailable", message: "refused" },
    });
  });

  it("never moves a failing provider's next probe later", () => {
    const failing: HealthPacing = { failures: 5, nextCheckAt: 7000, last: failed };
    expect(pacingAfterCallsFailed(failing, "refused", 5000, settings).nextCheckAt).toBe(7000);
  });
});

describe("healthFailureReason", () => {
  it("tells an unreachable provider from one that answered with its own error", () => {
    expect(healthFailureReason(ProviderError.unavailable("down"))).toBe("ProviderUnavailable");
    expect(healthFailureReason(ProviderError.deadlineExceeded("slow"))).toBe("ProviderUnavailable");
    expect(healthFailureReason(ProviderError.unauthenticated("vCenter said no"))).toBe(
      "ValidateFailed",
    );
  });
});
