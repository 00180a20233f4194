import { describe, expect, it } from "@jest/globals";
import { expiryOf } from "./token-expiry";

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const jwt = (claims: unknown) => `${part({ alg: "RS256" })}.${part(claims)}.c2lnbmF0dXJl`;

describe("expiryOf", () => {
  it("reads an ID token's exp, in milliseconds", () => {
    expect(expiryOf(jwt({ sub: "ada", exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
  });

  it("reads claims holding any text (UTF-8, base64url)", () => {
    expect(expiryOf(jwt({ name: "Zoë ~~~???", exp: 1_900_000_001 }))).toBe(1_900_000_001_000);
  });

  it.each([
    ["a token file's token", "console-admin-token-0123456789"],
    ["a JWT without exp", jwt({ sub: "ada" })],
    ["an exp that is no number", jwt({ exp: "soon" })],
    ["a payload that is no JSON", "a.bm90IGpzb24.c"],
    ["a payload that is no base64", "a.%%%.c"],
    ["an empty payload", "a..c"],
  ])("finds none in %s", (_, token) => {
    expect(expiryOf(token)).toBeUndefined();
  });
});
