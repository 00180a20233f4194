import { describe, expect, it } from "@jest/globals";
import { limitAtRunSpeed } from "./limit-speed.js";

describe("limitAtRunSpeed", () => {
  it("keeps the limit's time when the mock used the same CPU in both runs", () => {
    expect(limitAtRunSpeed({ seconds: 16, mockCpuSeconds: 11 }, { mockCpuSeconds: 11 })).toBe(16);
  });

  it("shortens a limit measured while the machine was slower than during the store's run", () => {
    // 14 s of the mock's CPU in the limit, 10.5 s for the same calls in the store's run: a quarter faster.
    expect(limitAtRunSpeed({ seconds: 20, mockCpuSeconds: 14 }, { mockCpuSeconds: 10.5 })).toBe(15);
  });

  it("lengthens a limit measured while the machine was faster", () => {
    expect(limitAtRunSpeed({ seconds: 15, mockCpuSeconds: 10 }, { mockCpuSeconds: 12 })).toBe(18);
  });
});
