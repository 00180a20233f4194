import { describe, expect, it } from "@jest/globals";
import { createOnceByName } from "./create-once.js";

/** A promise and its resolvers, to hold work open from the test. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("create-once by name", () => {
  it("answers concurrent calls for one name with the first call's answer, starting once", async () => {
    const creates = createOnceByName<{ vmId: string }>();
    const gate = deferred();
    let starts = 0;
    const start = async () => {
      starts++;
      await gate.promise;
      return { vmId: `vm-${starts}` };
    };
    const calls = [creates.run("web", start), creates.run("web", start), creates.run("web", start)];
    gate.resolve();
    const answers = await Promise.all(calls);
    expect(starts).toBe(1);
    expect(answers).toEqual([{ vmId: "vm-1" }, { vmId: "vm-1" }, { vmId: "vm-1" }]);
    expect(answers[1]).toBe(answers[0]);
  });

  it("keeps an answer for repeats until it is released, then looks again", async () => {
    const creates = createOnceByName<string>();
    let release = () => {};
    expect(
      await creates.run("web", (keep) => {
        release = keep();
        return Promise.resolve("task-1");
      }),
    ).toBe("task-1");
    expect(await creates.run("web", () => Promise.resolve("task-2"))).toBe("task-1");
    expect(creates.has("web")).toBe(true);
    release();
    expect(creates.has("web")).toBe(false);
    expect(await creates.run("web", () => Promise.resolve("task-3"))).toBe("task-3");
  });

  it("forgets an answer it was not asked to keep, and one released before it was given", async () => {
    const creates = createOnceByName<string>();
    expect(await creates.run("web", () => Promise.resolve("found"))).toBe("found");
    expect(creates.has("web")).toBe(false);
    expect(
      await creates.run("db", (keep) => {
        keep()();
        return Promise.resolve("done at once");
      }),
    ).toBe("done at once");
    expect(creates.has("db")).toBe(false);
  });

  it("never conflicts on the spec: a repeat with another spec gets the first answer", async () => {
    const creates = createOnceByName<{ vmId: string; cpu: number }>();
    const gate = deferred();
    const first = creates.run("web", async () => {
      await gate.promise;
      return { vmId: "vm-1", cpu: 2 };
    });
    const second = creates.run("web", () => Promise.resolve({ vmId: "vm-2", cpu: 8 }));
    gate.resolve();
    expect(await second).toEqual(await first);
  });

  it("lets a repeat start on its own when the call it waited on fails", async () => {
    const creates = createOnceByName<string>();
    const gate = deferred();
    const first = creates.run("web", async () => {
      await gate.promise;
      throw new Error("the first caller's failure");
    });
    const second = creates.run("web", () => Promise.resolve("made by the repeat"));
    gate.resolve();
    await expect(first).rejects.toThrow("the first caller's failure");
    await expect(second).resolves.toBe("made by the repeat");
  });

  it("stops a repeat's wait when its own signal aborts, leaving the first call be", async () => {
    const creates = createOnceByName<string>();
    const gate = deferred<string>();
    const first = creates.run("web", () => gate.promise);
    const abort = new AbortController();
    const second = creates.run("web", () => Promise.resolve("never"), abort.signal);
    abort.abort(new Error("the repeat's caller left"));
    await expect(second).rejects.toThrow("the repeat's caller left");
    gate.resolve("made");
    await expect(first).resolves.toBe("made");
  });

  it("keeps names apart and reports a start that throws at once as a failed call", async () => {
    const creates = createOnceByName<string>();
    await expect(
      creates.run("web", () => {
        throw new Error("bad request");
      }),
    ).rejects.toThrow("bad request");
    expect(creates.has("web")).toBe(false);
    const [a, b] = await Promise.all([
      creates.run("a", () => Promise.resolve("A")),
      creates.run("b", () => Promise.resolve("B")),
    ]);
    expect([a, b]).toEqual(["A", "B"]);
  });
});
