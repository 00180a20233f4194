import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { VimConnectionError, type VimFault, toVimFault } from "@virtrigaud/vsphere-sdk";
import { guestOperationUnavailable, toProviderError } from "./errors.js";

const fault = (type: string, fields: Record<string, unknown> = {}): VimFault =>
  toVimFault(type, `${type} happened`, { _type: type, ...fields });

describe("toProviderError", () => {
  it.each([
    ["InvalidLogin", ErrorReason.UNAUTHENTICATED],
    ["NotAuthenticated", ErrorReason.UNAUTHENTICATED],
    ["NoPermission", ErrorReason.PERMISSION_DENIED],
    ["ManagedObjectNotFound", ErrorReason.NOT_FOUND],
    ["InvalidPowerState", ErrorReason.CONFLICT],
    ["InvalidState", ErrorReason.CONFLICT],
    ["DuplicateName", ErrorReason.CONFLICT],
    ["FileAlreadyExists", ErrorReason.CONFLICT],
    ["TaskInProgress", ErrorReason.RETRYABLE],
    ["InvalidArgument", ErrorReason.INVALID_SPEC],
    ["NotSupported", ErrorReason.UNSUPPORTED],
    ["InsufficientResourcesFault", ErrorReason.RESOURCE_EXHAUSTED],
    ["RequestCanceled", ErrorReason.CANCELED],
    ["SystemError", ErrorReason.INTERNAL],
  ])("maps %s to %s", (type, reason) => {
    const mapped = toProviderError(fault(type));
    expect(ProviderError.is(mapped, reason)).toBe(true);
    expect((mapped as ProviderError).cause).toBeDefined();
  });

  it("asks for a retry later when another task holds the object", () => {
    expect((toProviderError(fault("TaskInProgress")) as ProviderError).retryAfterMs).toBe(2000);
  });

  it("treats an unreachable vCenter as UNAVAILABLE and leaves other errors alone", () => {
    expect(
      ProviderError.is(toProviderError(new VimConnectionError("refused")), ErrorReason.UNAVAILABLE),
    ).toBe(true);
    const other = new Error("bug");
    expect(toProviderError(other)).toBe(other);
  });
});

describe("guestOperationUnavailable", () => {
  it("is true when the guest has no tools or the server no such method, also once mapped", () => {
    for (const type of ["ToolsUnavailable", "NotSupported", "MethodNotFound"]) {
      expect(guestOperationUnavailable(fault(type))).toBe(true);
      expect(guestOperationUnavailable(toProviderError(fault(type)))).toBe(true);
    }
  });

  it("is false for other failures", () => {
    expect(guestOperationUnavailable(fault("InvalidPowerState"))).toBe(false);
    expect(guestOperationUnavailable(new Error("socket hang up"))).toBe(false);
  });
});
