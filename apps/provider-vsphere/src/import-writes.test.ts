import { describe, expect, it } from "@jest/globals";
import { checkpointBytes, planRecord, planWrite } from "./import-writes.js";

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

describe("planRecord", () => {
  const MiB = 1 << 20;
  const size = 200 * MiB;
  const state = (received: number, dirtyEnd: number, ahead: Array<[number, number]> = []) => ({
    sizeBytes: size,
    received,
    ahead,
    dirtyEnd,
  });

  it("writes no record for chunks that stay below the recorded dirtyEnd and the next checkpoint", () => {
    const recorded = state(0, checkpointBytes);
    // In order, and out of order (a range ahead of the prefix).
    expect(planRecord(recorded, state(2 * MiB, 4 * MiB), state(4 * MiB, 6 * MiB))).toEqual({
      before: undefined,
      after: undefined,
    });
    expect(
      planRecord(
        recorded,
        state(4 * MiB, 6 * MiB),
        state(4 * MiB, 10 * MiB, [[8 * MiB, 10 * MiB]]),
      ),
    ).toEqual({ before: undefined, after: undefined });
  });

  it("raises the recorded dirtyEnd a checkpoint ahead before bytes land past it", () => {
    const plan = planRecord(state(0, 0), state(0, 0), state(2 * MiB, 2 * MiB));
    // The prefix recorded is the one already durable, not the chunk's.
    expect(plan.before).toEqual(state(0, checkpointBytes));
    expect(plan.after).toBeUndefined();
    // A zero chunk dirties nothing: no record.
    expect(planRecord(state(0, 0), state(0, 0), state(2 * MiB, 0))).toEqual({
      before: undefined,
      after: undefined,
    });
  });

  it("writes the record when the prefix crosses a checkpoint, keeping the higher dirtyEnd", () => {
    const plan = planRecord(
      state(0, 2 * checkpointBytes),
      state(checkpointBytes - 2 * MiB, checkpointBytes - 2 * MiB),
      state(checkpointBytes + 4 * MiB, checkpointBytes, [[80 * MiB, 90 * MiB]]),
    );
    expect(plan.before).toBeUndefined();
    expect(plan.after).toEqual(
      state(checkpointBytes + 4 * MiB, 2 * checkpointBytes, [[80 * MiB, 90 * MiB]]),
    );
  });

  it("writes the record at the end, and a dirtyEnd no higher than the file", () => {
    const plan = planRecord(
      state(2 * checkpointBytes, 2 * checkpointBytes),
      state(size - MiB, 2 * checkpointBytes),
      state(size, size),
    );
    expect(plan.before).toEqual(state(size - MiB, size));
    expect(plan.after).toEqual(state(size, size));
    // Once written, the end is not written again.
    expect(
      planRecord(state(size, size), state(size, size), state(size, size)).after,
    ).toBeUndefined();
  });
});
