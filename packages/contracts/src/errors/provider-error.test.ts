import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ErrorDetailSchema } from "@virtrigaud/proto";
import { ProviderError } from "./provider-error.js";
import { reasonOfCode } from "./reason-codes.js";
import { toConnectError } from "./wire.js";

describe("ProviderError", () => {
  it("prefixes its message with the reason and field, keeping the raw message", () => {
    const error = ProviderError.invalidSpec("class.cpu", "must be greater than 0");
    expect(error.message).toBe("[invalid_spec] class.cpu: must be greater than 0");
    expect(error.rawMessage).toBe("must be greater than 0");
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.retryable).toBe(false);
    expect(ProviderError.unavailable("x").retryable).toBe(true);
  });

  it("normalises whatever is thrown", () => {
    const typed = ProviderError.conflict("c");
    expect(ProviderError.from(typed)).toBe(typed);
    expect(ProviderError.from(new Error("boom"))).toMatchObject({
      reason: ErrorReason.INTERNAL,
      cause: expect.any(Error),
    });
    expect(ProviderError.from("a string")).toMatchObject({ reason: ErrorReason.INTERNAL });
    expect(ProviderError.from(new DOMException("stop", "AbortError")).reason).toBe(
      ErrorReason.CANCELED,
    );
    expect(ProviderError.from(new DOMException("late", "TimeoutError")).reason).toBe(
      ErrorReason.DEADLINE_EXCEEDED,
    );
    expect(ProviderError.from(new ConnectError("gone", Code.Unavailable)).reason).toBe(
      ErrorReason.UNAVAILABLE,
    );
  });

  it("rebuilds itself from its wire form", () => {
    const sent = ProviderError.retryable("busy", { retryAfterMs: 250 });
    const wire = toConnectError(sent);
    expect(wire.code).toBe(Code.Aborted);
    expect(wire.findDetails(ErrorDetailSchema)).toHaveLength(1);
    expect(ProviderError.from(wire)).toMatchObject({
      reason: ErrorReason.RETRYABLE,
      rawMessage: "busy",
      retryAfterMs: 250,
    });
  });

  it("maps bare codes from servers outside the SDK", () => {
    expect(reasonOfCode(Code.AlreadyExists)).toBe(ErrorReason.CONFLICT);
    expect(reasonOfCode(Code.OutOfRange)).toBe(ErrorReason.INVALID_SPEC);
    expect(reasonOfCode(Code.Unknown)).toBe(ErrorReason.INTERNAL);
    expect(reasonOfCode(Code.NotFound)).toBe(ErrorReason.NOT_FOUND);
  });

  it("is recognised across copies of the package", () => {
    const foreign = Object.assign(new Error("[not_found] x"), {
      name: "ProviderError",
      reason: ErrorReason.NOT_FOUND,
    });
    expect(ProviderError.is(foreign, ErrorReason.NOT_FOUND)).toBe(true);
    expect(ProviderError.is(new Error("x"))).toBe(false);
  });
});
