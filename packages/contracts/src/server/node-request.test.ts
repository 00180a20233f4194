import { expect, it } from "@jest/globals";
import { createCallSignals } from "./node-request.js";

it("aborts the signals of the calls still open, with the shutdown's reason", () => {
  const signals = createCallSignals();
  const running = signals.open();
  const over = signals.open();
  signals.close(over);
  const reason = new Error("the server is shutting down");
  signals.abortAll(reason);
  expect(running.signal.aborted).toBe(true);
  expect(running.signal.reason).toBe(reason);
  expect(over.signal.aborted).toBe(false);
});

it("gives a call that arrives after the shutdown an aborted signal", () => {
  const signals = createCallSignals();
  const reason = new Error("the server is shutting down");
  signals.abortAll(reason);
  const late = signals.open();
  expect(late.signal.aborted).toBe(true);
  expect(late.signal.reason).toBe(reason);
});

it("aborts each call once: a second shutdown keeps the first reason", () => {
  const signals = createCallSignals();
  const first = new Error("first");
  signals.abortAll(first);
  signals.abortAll(new Error("second"));
  expect(signals.open().signal.reason).toBe(first);
});
