import { describe, expect, it } from "@jest/globals";
import { type PendingLogin, consolePathOr, parsePendingLogin } from "./pending-login";

const login: PendingLogin = {
  issuer: "https://id.example.com",
  clientId: "virtrigaud-console",
  redirectUri: "https://manager.example.com/console/oidc/callback",
  state: "s",
  nonce: "n",
  codeVerifier: "v",
  returnTo: "/console/vms/default/web-1",
};

describe("parsePendingLogin", () => {
  it("reads back what was stored", () => {
    expect(parsePendingLogin(JSON.stringify(login))).toEqual(login);
  });

  it("drops anything else stored beside it", () => {
    expect(parsePendingLogin(JSON.stringify({ ...login, extra: 1 }))).toEqual(login);
  });

  it.each([
    ["nothing", null],
    ["no JSON", "{"],
    ["no object", "[]"],
    ["a field missing", JSON.stringify({ ...login, codeVerifier: undefined })],
    ["an empty state", JSON.stringify({ ...login, state: "" })],
    ["a field of another type", JSON.stringify({ ...login, nonce: 3 })],
  ])("finds no login in %s", (_, text) => {
    expect(parsePendingLogin(text)).toBeUndefined();
  });

  it("goes back to the fleet rather than anywhere outside the console", () => {
    expect(parsePendingLogin(JSON.stringify({ ...login, returnTo: "https://evil/" }))).toEqual({
      ...login,
      returnTo: "/console/",
    });
  });
});

describe("consolePathOr", () => {
  it.each([
    ["/console/", "/console/"],
    ["/console/providers", "/console/providers"],
    ["/console/oidc/callback", "/console/"],
    ["/elsewhere", "/console/"],
    ["//evil.example/console/", "/console/"],
    ["https://evil.example/console/", "/console/"],
  ])("%s: %s", (path, expected) => {
    expect(consolePathOr(path)).toBe(expected);
  });
});
