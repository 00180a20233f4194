import { expect, it } from "@jest/globals";
import { createLogger } from "@virtrigaud/contracts";
import { turnBudgetMs } from "@virtrigaud/contracts/server";
import { busyFor, countTurns, freshTurn } from "@virtrigaud/contracts/testing";
import { createWorkQueue } from "./work-queue.js";

it("starts a burst of reconciles over several turns of the event loop, in the order queued", async () => {
  const turns = countTurns();
  await freshTurn();

  const started: Array<{ key: string; turn: number }> = [];
  const queue = createWorkQueue({
    name: "test",
    workers: 64,
    logger: createLogger({ level: "silent" }),
    reconcile: (key) => {
      started.push({ key, turn: turns.now });
      busyFor(turnBudgetMs / 2);
      return Promise.resolve();
    },
  });
  const keys = Array.from({ length: 12 }, (_, i) => `default/vm-${i}`);
  try {
    // Queued in one turn, as a commit's changes are: two half budgets fill a turn, so twelve take six.
    for (const key of keys) queue.add(key);
    await queue.idle();
    expect(started.map((s) => s.key)).toEqual(keys);
    expect(new Set(started.map((s) => s.turn)).size).toBeGreaterThanOrEqual(4);
  } finally {
    turns.stop();
    await queue.shutdown();
  }
});

it("does not start a reconcile that waited for its turn once the queue has shut down", async () => {
  const reconciled: string[] = [];
  const queue = createWorkQueue({
    name: "test",
    workers: 64,
    logger: createLogger({ level: "silent" }),
    reconcile: (key) => {
      reconciled.push(key);
      busyFor(turnBudgetMs + 1);
      return Promise.resolve();
    },
  });
  await freshTurn();
  queue.add("default/first");
  // The first spent the turn's budget: the second waits for a later turn, and the queue stops first.
  queue.add("default/second");
  await queue.shutdown();
  expect(reconciled).toEqual(["default/first"]);
});
