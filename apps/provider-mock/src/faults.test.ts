import { afterEach, describe, expect, it } from "@jest/globals";
import { ErrorReason, PowerState, ProviderError } from "@virtrigaud/contracts";
import { type TestServer, createFakeClock, startTestServer } from "@virtrigaud/contracts/testing";
import { type FaultRule, createFaultInjector, parseFaultSpec } from "./faults.js";
import { createMockProvider } from "./mock-provider.js";

describe("parseFaultSpec", () => {
  it("reads operation, mode and options", () => {
    expect(parseFaultSpec("create:fail:reason=unavailable,probability=0.5")).toEqual({
      operation: "create",
      mode: "fail",
      reason: "unavailable",
      probability: 0.5,
    });
    expect(parseFaultSpec("*:delay:delayMs=20")).toMatchObject({
      operation: "*",
      mode: "delay",
      delayMs: 20,
    });
  });

  it.each([
    ["create", /operation:mode/],
    ["launch:fail", /not an RPC/],
    ["create:explode", /not one of/],
    ["create:fail:reason=angry", /reason "angry"/],
    ["create:fail:probability=2", /probability/],
    ["create:delay", /delayMs/],
    ["create:fail:oops", /key=value/],
    ["create:fail:reason=unavailable:extra", /operation:mode/],
    ["describe:delay:delay=200", /not one of reason/],
    ["create:fail:times=abc", /times must be a number/],
    ["create:fail:times=0", /times must be a whole number of at least 1/],
    ["create:fail:mode=delay", /not one of reason/],
    ["getCapabilities:fail", /read.* once at start-up/],
  ])("refuses %s", (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });
});

describe("the fault injector", () => {
  const outcomes = async (rules: FaultRule[], seed: number, calls: number) => {
    const injector = createFaultInjector({ seed, faults: rules }, createFakeClock());
    const results: string[] = [];
    for (let i = 0; i < calls; i++) {
      results.push(
        await injector.enter("create", AbortSignal.timeout(1000)).then(
          () => "ok",
          (e: unknown) => ProviderError.from(e).message,
        ),
      );
    }
    return results;
  };

  it("makes the same decisions for the same seed", async () => {
    const rules: FaultRule[] = [{ operation: "create", mode: "fail", probability: 0.5 }];
    const first = await outcomes(rules, 7, 40);
    expect(await outcomes(rules, 7, 40)).toEqual(first);
    expect(await outcomes(rules, 8, 40)).not.toEqual(first);
    const failures = first.filter((r) => r !== "ok").length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(35);
  });

  it("fails after N calls, and at most `times` times", async () => {
    expect(await outcomes([{ operation: "create", mode: "fail-after", after: 2 }], 1, 4)).toEqual([
      "ok",
      "ok",
      "[unavailable] injected fault: create fail-after",
      "[unavailable] injected fault: create fail-after",
    ]);
    const once = await outcomes(
      [{ operation: "*", mode: "fail", reason: "permission_denied", times: 1 }],
      1,
      3,
    );
    expect(once).toEqual(["[permission_denied] injected fault: create fail", "ok", "ok"]);
  });

  it("delays on the provider's clock", async () => {
    const clock = createFakeClock();
    const injector = createFaultInjector(
      { faults: [{ operation: "describe", mode: "delay", delayMs: 500 }] },
      clock,
    );
    let done = false;
    const entered = injector.enter("describe", AbortSignal.timeout(5000)).then(() => (done = true));
    await clock.advance(499);
    expect(done).toBe(false);
    await clock.advance(1);
    await entered;
    expect(done).toBe(true);
  });
});

describe("a mock with faults", () => {
  let test: TestServer | undefined;
  afterEach(() => test?.close());

  async function serve(faults: FaultRule[]) {
    test = await startTestServer(createMockProvider({ latencyMs: 0, faults }));
    return test.client;
  }
  const vmClass = { cpu: 1, memoryMib: 512 };

  it("fail: the RPC fails with the reason", async () => {
    const client = await serve([
      { operation: "create", mode: "fail", reason: "resource_exhausted" },
    ]);
    const error = await client.create({ name: "a", class: vmClass }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.RESOURCE_EXHAUSTED)).toBe(true);
  });

  it("phantom-create: Create answers with an id but nothing exists", async () => {
    const client = await serve([{ operation: "create", mode: "phantom-create" }]);
    const { vmId, task } = await client.create({ name: "ghost", class: vmClass });
    expect(vmId).toBeTruthy();
    expect(task).toBeUndefined();
    expect((await client.describe({ vmId })).exists).toBe(false);
  });

  it("survive-delete: Delete succeeds but the VM stays", async () => {
    const client = await serve([{ operation: "delete", mode: "survive-delete" }]);
    const { vmId, task } = await client.create({ name: "stubborn", class: vmClass });
    await client.waitForTask(task, { pollIntervalMs: 5 });
    await client.delete({ vmId });
    expect((await client.describe({ vmId })).exists).toBe(true);
  });

  it("fail-task: the RPC succeeds but its task fails, and undoes what it began", async () => {
    const client = await serve([
      { operation: "snapshotCreate", mode: "fail-task", reason: "internal" },
    ]);
    const { vmId, task } = await client.create({ name: "s", class: vmClass });
    await client.waitForTask(task, { pollIntervalMs: 5 });
    const snap = await client.snapshotCreate({ vmId, name: "x" });
    const error = await client
      .waitForTask(snap.task, { pollIntervalMs: 5 })
      .catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.INTERNAL)).toBe(true);
    expect((await client.snapshotList({ vmId })).snapshots).toEqual([]);
  });

  it("lie-power-state and no-ip: Describe misreports a running VM", async () => {
    const client = await serve([
      { operation: "describe", mode: "lie-power-state" },
      { operation: "describe", mode: "no-ip" },
    ]);
    const { vmId, task } = await client.create({ name: "liar", class: vmClass, powerOn: true });
    await client.waitForTask(task, { pollIntervalMs: 5 });
    const { vm } = await client.describe({ vmId });
    expect(vm?.powerState).toBe(PowerState.OFF);
    expect(vm?.ipAddresses).toEqual([]);
    // ListVMs tells the truth: the rules name Describe only.
    expect((await client.listVMs({})).vms[0]?.powerState).toBe(PowerState.ON);
  });
});

describe("rules from a file", () => {
  it.each([
    [{ operation: "create", mode: "fail", probabilty: 0.5 }, /key "probabilty" is not one of/],
    [{ operation: "create", mode: "fail", probability: "0.5" }, /probability must be a number/],
    [{ operation: "create", mode: "delay", delayMs: 1.5 }, /delayMs must be a whole number/],
  ])("are checked as strictly as flags: %j", (rule, message) => {
    expect(() =>
      createFaultInjector({ faults: [rule as unknown as FaultRule] }, createFakeClock()),
    ).toThrow(message);
  });
});

describe("a fault that lasts durationMs", () => {
  it("fires from its first call until durationMs have passed on the clock", async () => {
    const clock = createFakeClock();
    const injector = createFaultInjector(
      { faults: [{ operation: "diskImportWrite", mode: "fail", durationMs: 1000 }] },
      clock,
    );
    const call = () =>
      injector.enter("diskImportWrite", AbortSignal.timeout(1000)).then(
        () => "ok",
        () => "failed",
      );
    expect(await call()).toBe("failed");
    await clock.advance(999);
    expect(await call()).toBe("failed");
    await clock.advance(1);
    expect(await call()).toBe("ok");
  });

  it("is read from the command line", () => {
    expect(
      parseFaultSpec("diskImportWrite:fail:reason=unavailable,durationMs=60000"),
    ).toMatchObject({
      durationMs: 60000,
    });
    expect(() => parseFaultSpec("diskImportWrite:fail:durationMs=0")).toThrow(/durationMs/);
  });
});
