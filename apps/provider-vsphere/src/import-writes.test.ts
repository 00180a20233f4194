import { describe, expect, it } from "@jest/globals";
import { planWrite } from "./import-writes.js";

const fresh = { sizeBytes: 100, received: 0, ahead: [], dirtyEnd: 0 };

describe("planWrite", () => {
  it("writes data in order and grows the durable prefix", () => {
    const a = planWrite(fresh, { offset: 0, length: 10, zero: false });
    expect(a).toEqual({
      writeData: true,
      zeroFill: undefined,
      next: { sizeBytes: 100, received: 10, ahead: [], dirtyEnd: 10 },
    });
    const b = planWrite(a.next, { offset: 10, length: 10, zero: false });
    expect(b.next).toEqual({ sizeBytes: 100, received: 20, ahead: [], dirtyEnd: 20 });
  });

  it("leaves a zero range as holes where nothing was written, and counts it", () => {
    const plan = planWrite(
      { sizeBytes: 100, received: 20, ahead: [], dirtyEnd: 20 },
      { offset: 20, length: 30, zero: true },
    );
    expect(plan).toEqual({
      writeData: false,
      zeroFill: undefined,
      next: { sizeBytes: 100, received: 50, ahead: [], dirtyEnd: 20 },
    });
  });

  it("writes zeros over the part of a zero range an earlier attempt wrote", () => {
    // A transfer written once, refused at commit, written again from 0.
    const plan = planWrite(
      { sizeBytes: 100, received: 0, ahead: [], dirtyEnd: 60 },
      { offset: 0, length: 80, zero: true },
    );
    expect(plan.zeroFill).toEqual({ from: 0, to: 60 });
    expect(plan.next).toEqual({ sizeBytes: 100, received: 80, ahead: [], dirtyEnd: 60 });
  });

  it("remembers ranges past the prefix and counts them once the gap before them is written", () => {
    // Four chunks in flight land out of order: 20-30, 30-40 and 10-20 before 0-10.
    let state: Parameters<typeof planWrite>[0] = fresh;
    for (const offset of [20, 30, 10]) {
      const plan = planWrite(state, { offset, length: 10, zero: offset === 30 });
      state = plan.next;
      expect(state.received).toBe(0);
    }
    expect(state.ahead).toEqual([[10, 40]]);
    state = planWrite(state, { offset: 0, length: 10, zero: false }).next;
    expect(state).toEqual({ sizeBytes: 100, received: 40, ahead: [], dirtyEnd: 30 });
  });

  it("keeps apart ranges with a gap between them", () => {
    const a = planWrite(fresh, { offset: 50, length: 10, zero: false }).next;
    const b = planWrite(a, { offset: 70, length: 10, zero: false }).next;
    expect(b.ahead).toEqual([
      [50, 60],
      [70, 80],
    ]);
    expect(planWrite(b, { offset: 60, length: 10, zero: false }).next.ahead).toEqual([[50, 80]]);
  });

  it("changes nothing when a chunk inside the prefix comes again", () => {
    const state = { sizeBytes: 100, received: 50, ahead: [], dirtyEnd: 50 };
    expect(planWrite(state, { offset: 10, length: 10, zero: false }).next).toEqual(state);
  });
});
