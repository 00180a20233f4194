import { describe, expect, it } from "@jest/globals";
import { createDomainEvents, eventDomain } from "./domain-events.js";

describe("eventDomain", () => {
  it("reads the domain virsh names in an event line", () => {
    expect(eventDomain("event 'lifecycle' for domain 'web-1': Defined Updated")).toBe("web-1");
    expect(eventDomain("event 'metadata-change' for domain 'a b': type element, uri x")).toBe(
      "a b",
    );
  });

  it("tells no domain for sure when the name could end in two places, or the line is of another shape", () => {
    expect(eventDomain("event 'lifecycle' for domain 'x': y': Started Booted")).toBeUndefined();
    expect(eventDomain("events received: 3")).toBeUndefined();
    expect(eventDomain("")).toBeNull();
    expect(eventDomain("   ")).toBeNull();
  });
});

/** A host whose `follow` the test drives: lines in, and an end when it wants. */
function drivenHost() {
  const runs: Array<{ line(text: string): void; end(error?: Error): void }> = [];
  return {
    runs,
    host: {
      uri: "qemu:///system",
      description: "test",
      follow: (_argv: readonly string[], onLine: (line: string) => void, signal: AbortSignal) =>
        new Promise<void>((resolve, reject) => {
          signal.addEventListener("abort", () => resolve(), { once: true });
          runs.push({ line: onLine, end: (error) => (error ? reject(error) : resolve()) });
        }),
    },
  };
}

/** A clock whose sleeps end when the test says. */
function steppedClock() {
  let now = 0;
  const sleepers: Array<{ at: number; wake(): void }> = [];
  return {
    now: () => now,
    sleep(ms: number, signal?: AbortSignal) {
      return new Promise<void>((resolve, reject) => {
        sleepers.push({ at: now + ms, wake: resolve });
        signal?.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
      });
    },
    async advance(ms: number) {
      now += ms;
      for (const s of sleepers.filter((s) => s.at <= now)) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.wake();
      }
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

describe("createDomainEvents", () => {
  const setup = () => {
    const { host, runs } = drivenHost();
    const clock = steppedClock();
    const events = createDomainEvents({ host, clock, settleMs: 1000 });
    /** A mark now, which must be trusted. */
    const trustedMark = () => {
      const mark = events.mark();
      if (!mark) throw new Error("not trusted");
      return mark;
    };
    /** Starts following and lets virsh settle: a trusted mark. */
    const settled = async () => {
      events.mark();
      await clock.advance(1000);
      return trustedMark();
    };
    return { events, runs, clock, trustedMark, settled };
  };

  it("trusts nothing until virsh has run for the settle time", async () => {
    const { events, runs, clock } = setup();
    expect(events.mark()).toBeUndefined();
    expect(runs).toHaveLength(1);
    await clock.advance(999);
    expect(events.mark()).toBeUndefined();
    await clock.advance(1);
    expect(events.mark()).toBeDefined();
    events.close();
  });

  it("counts an event for the domain it names, and an unreadable one for every domain", async () => {
    const { events, runs, trustedMark, settled } = setup();
    const mark = await settled();
    runs[0]?.line("event 'lifecycle' for domain 'web-1': Defined Updated");
    expect(events.changedSince(mark, "web-1")).toBe(true);
    expect(events.changedSince(mark, "web-2")).toBe(false);
    const later = trustedMark();
    expect(events.changedSince(later, "web-1")).toBe(false);
    runs[0]?.line("something virsh never printed");
    expect(events.changedSince(later, "web-2")).toBe(true);
    events.close();
  });

  it("after virsh ended, counts everything as changed, and trusts a new virsh only once it settled", async () => {
    const { events, runs, clock, settled } = setup();
    const mark = await settled();
    runs[0]?.end(new Error("connection dropped"));
    await clock.advance(0);
    expect(events.mark()).toBeUndefined();
    expect(events.changedSince(mark, "web-1")).toBe(true);
    await clock.advance(1000); // the backoff
    expect(runs).toHaveLength(2);
    expect(events.mark()).toBeUndefined();
    await clock.advance(1000); // the new run settles
    const again = events.mark();
    expect(again).toBeDefined();
    expect(events.changedSince(mark, "web-1")).toBe(true);
    if (again) expect(events.changedSince(again, "web-1")).toBe(false);
    events.close();
  });

  it("stops following when closed, and trusts nothing after", async () => {
    const { events, runs, clock, settled } = setup();
    await settled();
    events.close();
    await clock.advance(60_000);
    expect(runs).toHaveLength(1);
    expect(events.mark()).toBeUndefined();
  });

  it("stops following when the host's follow ends without an error (the host was closed)", async () => {
    const { events, runs, clock, settled } = setup();
    await settled();
    runs[0]?.end();
    await clock.advance(60_000);
    expect(runs).toHaveLength(1);
    expect(events.mark()).toBeUndefined();
  });
});
