import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError, Secret } from "@virtrigaud/contracts";
import { createVcenterCredentials } from "./vcenter-credentials.js";

const data = (username: string, password: string) => ({
  username: Buffer.from(username),
  password: Buffer.from(password),
});

describe("vCenter credentials", () => {
  it("awaited from the manager: none until SetCredentials, then those, changed only by new ones", () => {
    const creds = createVcenterCredentials(undefined);
    expect(creds.fixed).toBe(false);
    expect(() => creds.username()).toThrow(/no vCenter credentials yet/);
    expect(ProviderError.from(catchOf(() => creds.password())).reason).toBe(
      ErrorReason.UNAUTHENTICATED,
    );
    expect(creds.set(data("user", "pass"))).toBe(true);
    expect([creds.username(), creds.password()]).toEqual(["user", "pass"]);
    expect(creds.set(data("user", "pass"))).toBe(false);
    expect(creds.set(data("user", "other"))).toBe(true);
    expect(creds.password()).toBe("other");
  });

  it("refuses data without a password, naming the key and never a value", () => {
    const creds = createVcenterCredentials(undefined);
    const error = ProviderError.from(catchOf(() => creds.set({ username: Buffer.from("u53r") })));
    expect(error.reason).toBe(ErrorReason.INVALID_SPEC);
    expect(error.field).toBe("data.password");
    expect(error.message).not.toContain("u53r");
  });

  it("given at start-up: they win, and SetCredentials is refused with CONFLICT", () => {
    const creds = createVcenterCredentials({ username: "op", password: new Secret("s3cret") });
    expect(creds.fixed).toBe(true);
    const error = ProviderError.from(catchOf(() => creds.set(data("user", "pass"))));
    expect(error.reason).toBe(ErrorReason.CONFLICT);
    expect(creds.password()).toBe("s3cret");
  });
});

function catchOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("did not throw");
}
