import { describe, expect, it } from "@jest/globals";
import { ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import { createFakeClock } from "../testing/fake-clock.js";
import { createTaskTracker } from "./task-tracker.js";

describe("a task tracker", () => {
  it("reports a task running, with progress, then done", async () => {
    const tracker = createTaskTracker();
    let finish!: () => void;
    const ref = tracker.start("make a vm", async (task) => {
      task.progress(40);
      await new Promise<void>((resolve) => (finish = resolve));
    });
    expect(ref.id).toMatch(/^task-[0-9a-f-]{36}$/);
    expect(tracker.get(ref.id)).toMatchObject({
      id: ref.id,
      done: false,
      progressPercent: 40,
      description: "make a vm",
    });
    expect(tracker.running).toBe(1);
    finish();
    const done = await tracker.settled(ref.id);
    expect(done).toMatchObject({ done: true, progressPercent: 100 });
    expect(done.error).toBeUndefined();
    expect(tracker.running).toBe(0);
  });

  it("hands out snapshots, so a poller cannot change a task", async () => {
    const tracker = createTaskTracker();
    const ref = tracker.start("x", () => Promise.resolve());
    const seen = tracker.get(ref.id);
    seen.done = false;
    seen.progressPercent = 7;
    const actual = await tracker.settled(ref.id);
    expect(actual.done).toBe(true);
    expect(actual.progressPercent).toBe(100);
  });

  it("serves many concurrent polls of many tasks consistently", async () => {
    const tracker = createTaskTracker();
    const refs = Array.from({ length: 50 }, (_, i) =>
      tracker.start(`t${i}`, () => new Promise((r) => setTimeout(r, i % 5))),
    );
    const polls = await Promise.all(
      refs.flatMap((ref) => [0, 1, 2].map(() => Promise.resolve().then(() => tracker.get(ref.id)))),
    );
    expect(polls.every((t) => t.id.startsWith("task-"))).toBe(true);
    const finished = await Promise.all(refs.map((r) => tracker.settled(r.id)));
    expect(finished.every((t) => t.done && !t.error)).toBe(true);
  });

  it("reports a typed failure, and hides an internal one's cause", async () => {
    const internal: Array<[string, ProviderError]> = [];
    const tracker = createTaskTracker({
      onInternalError: (id, error) => internal.push([id, error]),
    });
    const typed = tracker.start("a", () => Promise.reject(ProviderError.conflict("busy")));
    const broken = tracker.start("b", () =>
      Promise.reject(new Error("disk /dev/sda password=hunter2")),
    );
    expect((await tracker.settled(typed.id)).error).toMatchObject({
      reason: ErrorReason.CONFLICT,
      message: "busy",
    });
    const hidden = (await tracker.settled(broken.id)).error;
    expect(hidden?.reason).toBe(ErrorReason.INTERNAL);
    expect(hidden?.message).not.toContain("hunter2");
    expect(internal).toHaveLength(1);
    expect(String((internal[0]?.[1].cause as Error).message)).toContain("hunter2");
  });

  it("forgets finished tasks after the TTL, keeping running ones", async () => {
    const clock = createFakeClock();
    const tracker = createTaskTracker({ clock, ttlMs: 60_000 });
    const quick = tracker.start("quick", () => Promise.resolve());
    const slow = tracker.start("slow", () => clock.sleep(120_000));
    await tracker.settled(quick.id);
    await clock.advance(59_999);
    expect(tracker.get(quick.id).done).toBe(true);
    await clock.advance(1);
    expect(() => tracker.get(quick.id)).toThrow(/does not exist or has expired/);
    expect(tracker.get(slow.id).done).toBe(false);
    await clock.advance(60_000);
    expect(tracker.get(slow.id).done).toBe(true);
  });

  it("answers NOT_FOUND for an unknown id and INVALID_SPEC for one it could not have made", () => {
    const tracker = createTaskTracker({ idPrefix: "mock" });
    expect(() => tracker.get("mock-00000000-0000-0000-0000-000000000000")).toThrow(
      expect.objectContaining({ reason: ErrorReason.NOT_FOUND }),
    );
    expect(() => tracker.get("../../etc/passwd")).toThrow(
      expect.objectContaining({ reason: ErrorReason.INVALID_SPEC, field: "task.id" }),
    );
  });

  it("aborts running work when closed", async () => {
    const tracker = createTaskTracker();
    const ref = tracker.start(
      "forever",
      (task) =>
        new Promise((_, reject) =>
          task.signal.addEventListener("abort", () => reject(task.signal.reason as Error)),
        ),
    );
    await tracker.close();
    expect(tracker.running).toBe(0);
    expect((await tracker.settled(ref.id)).error?.reason).toBe(ErrorReason.UNAVAILABLE);
  });
});
