import { describe, expect, it } from "@jest/globals";
import { planWrite } from "./import-writes.js";

const fresh = { sizeBytes: 100, received: 0, dirtyEnd: 0 };

describe("planWrite", () => {
  it("writes data in order and grows the durable prefix", () => {
    const a = planWrite(fresh, { offset: 0, length: 10, zero: false });
    expect(a).toEqual({
      writeData: true,
      zeroFill: undefined,
      next: { sizeBytes: 100, received: 10, dirtyEnd: 10 },
    });
    const b = planWrite(a.next, { offset: 10, length: 10, zero: false });
    expect(b.next).toEqual({ sizeBytes: 100, received: 20, dirtyEnd: 20 });
  });

  it("leaves a zero range as holes where nothing was written, and counts it", () => {
    const plan = planWrite(
      { sizeBytes: 100, received: 20, dirtyEnd: 20 },
      { offset: 20, length: 30, zero: true },
    );
    expect(plan).toEqual({
      writeData: false,
      zeroFill: undefined,
      next: { sizeBytes: 100, received: 50, dirtyEnd: 20 },
    });
  });

  it("writes zeros over the part of a zero range an earlier attempt wrote", () => {
    // A transfer written once, refused at commit, written again from 0.
    const plan = planWrite(
      { sizeBytes: 100, received: 0, dirtyEnd: 60 },
      { offset: 0, length: 80, zero: true },
    );
    expect(plan.zeroFill).toEqual({ from: 0, to: 60 });
    expect(plan.next).toEqual({ sizeBytes: 100, received: 80, dirtyEnd: 60 });
  });

  it("keeps a range past the prefix without counting it", () => {
    const plan = planWrite(
      { sizeBytes: 100, received: 10, dirtyEnd: 10 },
      { offset: 40, length: 10, zero: false },
    );
    expect(plan.writeData).toBe(true);
    expect(plan.next).toEqual({ sizeBytes: 100, received: 10, dirtyEnd: 50 });
  });

  it("changes nothing when a chunk inside the prefix comes again", () => {
    const state = { sizeBytes: 100, received: 50, dirtyEnd: 50 };
    expect(planWrite(state, { offset: 10, length: 10, zero: false }).next).toEqual(state);
  });
});
