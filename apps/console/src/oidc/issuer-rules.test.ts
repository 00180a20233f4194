import { describe, expect, it } from "@jest/globals";
import { allowsPlainHttp, checkTokenEndpoint } from "./issuer-rules";

describe("allowsPlainHttp", () => {
  it.each([
    ["http://127.0.0.1:5556", true],
    ["http://127.1.2.3/", true],
    ["http://localhost:8080/realms/x", true],
    ["http://[::1]:5556", true],
    ["https://127.0.0.1", false],
    ["http://id.example.com", false],
    ["http://127.0.0.1.example.com", false],
    ["http://10.0.0.1", false],
  ])("%s: %s", (url, allowed) => {
    expect(allowsPlainHttp(new URL(url))).toBe(allowed);
  });
});

describe("checkTokenEndpoint", () => {
  it("takes a token endpoint on the issuer's origin", () => {
    expect(
      checkTokenEndpoint("https://id.example.com/realms/ops", "https://id.example.com/token").href,
    ).toBe("https://id.example.com/token");
  });

  it.each([
    ["another host", "https://tokens.example.com/token"],
    ["another port", "https://id.example.com:8443/token"],
    ["another scheme", "http://id.example.com/token"],
  ])("refuses one on %s, which the console's CSP would block", (_, endpoint) => {
    expect(() => checkTokenEndpoint("https://id.example.com/realms/ops", endpoint)).toThrow(
      /not on the issuer's origin/,
    );
  });

  it("refuses an issuer without a token endpoint", () => {
    expect(() => checkTokenEndpoint("https://id.example.com", undefined)).toThrow(
      "The issuer names no token endpoint.",
    );
  });
});
