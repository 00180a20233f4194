import { create } from "@bufbuild/protobuf";
import { expect, it } from "@jest/globals";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorReason, type GetTaskRequestSchema, GetTaskResponseSchema } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import { createFakeClock } from "../testing/fake-clock.js";
import { waitForTask } from "./wait-for-task.js";

function tasks(
  ...states: Array<{
    done: boolean;
    progressPercent?: number;
    error?: { reason: ErrorReason; message: string };
  }>
) {
  const polls: string[] = [];
  const getTask = (request: MessageInitShape<typeof GetTaskRequestSchema>) => {
    polls.push(request.task?.id ?? "");
    const state = states.length > 1 ? states.shift() : states[0];
    return Promise.resolve(create(GetTaskResponseSchema, { task: { id: "t-1", ...state } }));
  };
  return { getTask, polls };
}

it("returns at once without a task", async () => {
  const { getTask, polls } = tasks({ done: true });
  expect(await waitForTask(getTask, undefined)).toBeUndefined();
  expect(await waitForTask(getTask, { id: "" } as never)).toBeUndefined();
  expect(polls).toEqual([]);
});

it("polls with growing intervals until done, reporting progress", async () => {
  const clock = createFakeClock();
  const { getTask, polls } = tasks(
    { done: false, progressPercent: 10 },
    { done: false, progressPercent: 60 },
    { done: true, progressPercent: 100 },
  );
  const progress: number[] = [];
  const result = waitForTask(getTask, "t-1", {
    clock,
    onProgress: (t) => progress.push(t.progressPercent),
  });
  await clock.advance(100);
  await clock.advance(150);
  expect((await result)?.done).toBe(true);
  expect(polls).toEqual(["t-1", "t-1", "t-1"]);
  expect(progress).toEqual([10, 60, 100]);
});

it("throws the task's typed error", async () => {
  const { getTask } = tasks({
    done: true,
    error: { reason: ErrorReason.CONFLICT, message: "snapshot in use" },
  });
  const error = await waitForTask(getTask, "t-1").catch((e: unknown) => e);
  expect(ProviderError.is(error, ErrorReason.CONFLICT)).toBe(true);
  expect((error as ProviderError).rawMessage).toBe("snapshot in use");
});

it("rejects with a typed CANCELED when the caller aborts", async () => {
  const clock = createFakeClock();
  const controller = new AbortController();
  const { getTask } = tasks({ done: false });
  const result = waitForTask(getTask, "t-1", { clock, signal: controller.signal }).catch(
    (e: unknown) => e,
  );
  await clock.advance(0);
  controller.abort();
  expect(ProviderError.is(await result, ErrorReason.CANCELED)).toBe(true);
});

it("gives up with DEADLINE_EXCEEDED after timeoutMs", async () => {
  const clock = createFakeClock();
  const { getTask } = tasks({ done: false });
  const result = waitForTask(getTask, "t-1", { clock, timeoutMs: 1000 }).catch((e: unknown) => e);
  for (let i = 0; i < 20; i++) await clock.advance(200);
  expect(ProviderError.is(await result, ErrorReason.DEADLINE_EXCEEDED)).toBe(true);
});
