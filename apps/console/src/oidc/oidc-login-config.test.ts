import { describe, expect, it } from "@jest/globals";
import { parseOidcLoginConfig } from "./oidc-login-config";

const oidc = {
  issuer: "https://id.example.com",
  clientId: "virtrigaud-console",
  scopes: ["openid", "groups"],
};

describe("parseOidcLoginConfig", () => {
  it("reads the issuer, the client id and the scopes the manager offers", () => {
    expect(parseOidcLoginConfig({ oidc })).toEqual(oidc);
  });

  it.each([
    ["no OIDC", {}],
    ["no object", "oidc"],
    ["null", null],
    ["no issuer", { oidc: { ...oidc, issuer: "" } }],
    ["no client id", { oidc: { ...oidc, clientId: undefined } }],
    ["scopes without openid", { oidc: { ...oidc, scopes: ["profile"] } }],
    ["scopes that are no list", { oidc: { ...oidc, scopes: "openid" } }],
    ["a scope that is no text", { oidc: { ...oidc, scopes: ["openid", 1] } }],
  ])("offers no OIDC login for %s", (_, json) => {
    expect(parseOidcLoginConfig(json)).toBeUndefined();
  });
});
