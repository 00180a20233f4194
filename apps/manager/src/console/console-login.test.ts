import { describe, expect, it } from "@jest/globals";
import { consoleConfigFile, consoleConnectSources, parseOidcScopes } from "./console-login.js";

describe("parseOidcScopes", () => {
  it.each([
    ["openid", ["openid"]],
    ["openid profile groups", ["openid", "profile", "groups"]],
    ["openid,email, groups", ["openid", "email", "groups"]],
    ["  openid   openid ", ["openid"]],
    ["openid https://api.example/read", ["openid", "https://api.example/read"]],
  ])("reads %j", (text, scopes) => {
    expect(parseOidcScopes(text)).toEqual(scopes);
  });

  it.each([
    ["profile email", 'the scopes must include "openid"'],
    ["", 'the scopes must include "openid"'],
    ['openid "quoted"', "is no scope"],
    ["openid back\\slash", "is no scope"],
    ["openid é", "is no scope"],
  ])("refuses %j", (text, message) => {
    expect(() => parseOidcScopes(text)).toThrow(message);
  });
});

describe("the console's config.json", () => {
  const oidc = {
    issuer: "https://id.example.com/realms/ops",
    clientId: "virtrigaud-console",
    scopes: ["openid", "groups"],
  };

  it("names the issuer, the client id and the scopes, and nothing else", () => {
    const file = consoleConfigFile({ oidc });
    expect(JSON.parse(file.body.toString())).toEqual({ oidc });
    expect(file.contentType).toBe("application/json");
    expect(file.cacheControl).toBe("no-cache");
  });

  it("is empty without OIDC: the console asks for a token only", () => {
    expect(JSON.parse(consoleConfigFile({}).body.toString())).toEqual({});
  });

  it("lets the console fetch from the issuer's origin only", () => {
    expect(consoleConnectSources({ oidc })).toEqual(["https://id.example.com"]);
    expect(consoleConnectSources({})).toEqual([]);
  });
});
