import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "@jest/globals";
import {
  ErrorReason,
  ListVMsResponseSchema,
  PowerState,
  ProviderError,
  SnapshotSchema,
} from "@virtrigaud/contracts";
import { checkEqual, describeFailure, expectReason, expectSuccess } from "./checks.js";
import { canonicalText, renderValue } from "./render-value.js";
import { CaseFailure } from "./types.js";

const snapshot = (name: string, ms: number) =>
  create(SnapshotSchema, {
    id: `snap-${name}`,
    name,
    powerState: PowerState.OFF,
    createTime: timestampFromMs(ms),
  });

/** The message of the CaseFailure `run` throws. */
function failureOf(run: () => void): string {
  try {
    run();
  } catch (thrown) {
    expect(thrown).toBeInstanceOf(CaseFailure);
    return (thrown as Error).message;
  }
  throw new Error("no failure");
}

describe("checkEqual", () => {
  it("names both values when messages holding timestamps differ", () => {
    const message = failureOf(() =>
      checkEqual(
        [snapshot("before", Date.UTC(2024, 0, 2, 3, 4, 5))],
        [],
        "SnapshotList after delete",
      ),
    );
    expect(message).toBe(
      'SnapshotList after delete: expected [], got [{"id":"snap-before","name":"before","powerState":"POWER_STATE_OFF","createTime":"2024-01-02T03:04:05Z"}]',
    );
  });

  it("tells two snapshots apart by their timestamps alone", () => {
    const message = failureOf(() =>
      checkEqual([snapshot("a", 1_000)], [snapshot("a", 2_000)], "snapshots"),
    );
    expect(message).toMatch(
      /expected \[.*"createTime":"1970-01-01T00:00:02Z"\}\], got \[.*"createTime":"1970-01-01T00:00:01Z"\}\]$/,
    );
  });

  it("passes equal messages with timestamps", () => {
    expect(() => checkEqual([snapshot("a", 5)], [snapshot("a", 5)], "snapshots")).not.toThrow();
  });

  it("renders bigints, bytes and maps rather than throwing", () => {
    const message = failureOf(() =>
      checkEqual<unknown>(
        { n: 2n ** 64n, bytes: new Uint8Array([0, 1, 254, 255]), map: new Map([["k", 1n]]) },
        { n: 1n },
        "odd values",
      ),
    );
    expect(message).toBe(
      'odd values: expected {"n":1}, got {"n":18446744073709551616,"bytes":"<4 bytes: 0001feff>","map":{"k":1}}',
    );
  });

  it("cuts long values around their first difference, saying how much is left out", () => {
    const long = "x".repeat(5000);
    const message = failureOf(() =>
      checkEqual(`${long}A${long}`, `${long}B${long}`, "a long text"),
    );
    expect(message.length).toBeLessThan(2600);
    expect(message).toMatch(
      /^a long text: expected …\(4751 characters\)x{250}Bx+… \(4252 more characters\), got …\(4751 characters\)x{250}Ax+… \(4252 more characters\)$/,
    );
  });
});

describe("expectReason", () => {
  it("names what a call that should have failed answered, timestamps and all", async () => {
    const answer = create(ListVMsResponseSchema, { vms: [{ id: "vm-1", name: "web" }] });
    const outcome = expectReason(Promise.resolve(answer), [ErrorReason.NOT_FOUND], "ListVMs");
    await expect(outcome).rejects.toThrow(
      'ListVMs: expected not_found, but the call succeeded with {"vms":[{"id":"vm-1","name":"web"}]}',
    );
    const snap = expectReason(
      Promise.resolve(snapshot("s", 0)),
      [ErrorReason.NOT_FOUND],
      "SnapshotCreate",
    );
    await expect(snap).rejects.toThrow(/succeeded with \{.*"createTime":"1970-01-01T00:00:00Z"\}/);
  });

  it("reports a fault of the suite itself as one, not as the provider's INTERNAL", async () => {
    const outcome = expectReason(
      Promise.reject(new TypeError("Cannot read properties of undefined")),
      [ErrorReason.INTERNAL],
      "Create",
    );
    await expect(outcome).rejects.toThrow(
      "Create: vcts could not carry out the check: TypeError: Cannot read properties of undefined",
    );
  });
});

describe("describeFailure", () => {
  it("keeps a provider's typed error as it is", async () => {
    const failure = expectSuccess(
      Promise.reject(ProviderError.notFound("vm 7 not found")),
      "Describe",
    );
    await expect(failure).rejects.toThrow("Describe failed: [not_found] vm 7 not found");
  });

  it("says what an unexpected error was", () => {
    expect(describeFailure(new RangeError("bad"))).toBe(
      "vcts could not carry out the check: RangeError: bad",
    );
    expect(describeFailure({ weird: 1n })).toBe('vcts could not carry out the check: {"weird":1}');
  });
});

describe("canonicalText", () => {
  it("never throws: cycles, undefined, NaN, dates, errors, functions", () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle["self"] = cycle;
    expect(canonicalText(cycle)).toBe('{"a":1,"self":"[circular]"}');
    expect(canonicalText([undefined, NaN, new Date(0)])).toBe(
      '[undefined,NaN,"1970-01-01T00:00:00.000Z"]',
    );
    expect(canonicalText({ gone: undefined, e: new Error("boom") })).toBe(
      '{"e":{"name":"Error","message":"boom"}}',
    );
    expect(canonicalText(undefined)).toBe("undefined");
    expect(renderValue("é".repeat(20), 5)).toBe('"éééé… (17 more characters)');
  });
});
