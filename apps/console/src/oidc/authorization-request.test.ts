import { describe, expect, it } from "@jest/globals";
import { type AuthorizationRequest, authorizationUrl } from "./authorization-request";
import { OidcLoginError } from "./oidc-login-error";

const request: AuthorizationRequest = {
  clientId: "virtrigaud-console",
  redirectUri: "https://manager.example.com/console/oidc/callback",
  scopes: ["openid", "profile", "groups"],
  codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  state: "state-1",
  nonce: "nonce-1",
};

describe("authorizationUrl", () => {
  it("asks the issuer's authorization endpoint for a code, with PKCE S256, the state and the nonce", () => {
    const url = authorizationUrl(
      {
        authorization_endpoint: "https://id.example.com/auth?tenant=ops",
        code_challenge_methods_supported: ["plain", "S256"],
      },
      request,
    );
    expect(url.origin + url.pathname).toBe("https://id.example.com/auth");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      tenant: "ops",
      response_type: "code",
      client_id: "virtrigaud-console",
      redirect_uri: "https://manager.example.com/console/oidc/callback",
      scope: "openid profile groups",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      state: "state-1",
      nonce: "nonce-1",
    });
  });

  it("sends S256 to an issuer that lists no challenge methods", () => {
    const url = authorizationUrl(
      { authorization_endpoint: "https://id.example.com/auth" },
      request,
    );
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
  });

  it("refuses an issuer that does not take S256, rather than sending the verifier's plain form", () => {
    expect(() =>
      authorizationUrl(
        {
          authorization_endpoint: "https://id.example.com/auth",
          code_challenge_methods_supported: ["plain"],
        },
        request,
      ),
    ).toThrow(new OidcLoginError("The issuer does not take PKCE with S256."));
  });

  it("refuses an issuer without an authorization endpoint", () => {
    expect(() => authorizationUrl({}, request)).toThrow(OidcLoginError);
  });
});
