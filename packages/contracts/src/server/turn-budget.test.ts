import { afterEach, expect, it } from "@jest/globals";
import { busyFor, countTurns, freshTurn } from "../testing/event-loop-turns.js";
import { shareTurn, turnBudgetMs } from "./turn-budget.js";

let stopCounting = () => {};
afterEach(() => stopCounting());

// What the tests assert holds however long the thread is kept from running:
// only work past the budget by a margin the tests spend themselves waits.

it("lets the first work of a turn go on at once", async () => {
  await freshTurn();
  expect(shareTurn()).toBeUndefined();
});

it("makes work past the budget wait for a later turn, behind what was queued before it", async () => {
  await freshTurn();
  expect(shareTurn()).toBeUndefined();
  busyFor(turnBudgetMs + 2);
  const order: string[] = [];
  setImmediate(() => order.push("queued before"));
  const turn = shareTurn();
  expect(turn).toBeInstanceOf(Promise);
  await turn;
  order.push("waited");
  expect(order).toEqual(["queued before", "waited"]);
});

it("spreads waiting work over as many turns as its budget needs, in the order it asked", async () => {
  const turns = countTurns();
  stopCounting = turns.stop;
  await freshTurn();
  expect(shareTurn()).toBeUndefined();
  busyFor(turnBudgetMs + 2);
  // Four pieces of work of 40% of a budget each: at most three fit in one turn.
  const resumed: Array<{ i: number; turn: number }> = [];
  await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const turn = shareTurn();
      if (turn) await turn;
      resumed.push({ i, turn: turns.now });
      busyFor(turnBudgetMs * 0.4);
    }),
  );
  expect(resumed.map((r) => r.i)).toEqual([0, 1, 2, 3]);
  expect(new Set(resumed.map((r) => r.turn)).size).toBeGreaterThanOrEqual(2);
});
