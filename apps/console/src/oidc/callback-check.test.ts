import { describe, expect, it } from "@jest/globals";
import type { AuthorizationServer } from "oauth4webapi";
import { checkCallback, requirePendingLogin } from "./callback-check";
import { OidcLoginError } from "./oidc-login-error";
import type { PendingLogin } from "./pending-login";

const issuer = "https://id.example.com";
const as: AuthorizationServer = { issuer, token_endpoint: `${issuer}/token` };
const pending: PendingLogin = {
  issuer,
  clientId: "virtrigaud-console",
  redirectUri: "https://manager.example.com/console/oidc/callback",
  state: "the-state",
  nonce: "the-nonce",
  codeVerifier: "the-verifier",
  returnTo: "/console/",
};
const callback = (query: string) =>
  new URL(`https://manager.example.com/console/oidc/callback?${query}`);

describe("checkCallback", () => {
  it("takes the issuer's answer to this tab's login: its state, its code", () => {
    const params = checkCallback(as, pending, callback("code=abc&state=the-state"));
    expect(params.get("code")).toBe("abc");
  });

  it("takes an answer whose iss is the issuer", () => {
    const params = checkCallback(
      { ...as, authorization_response_iss_parameter_supported: true },
      pending,
      callback(`code=abc&state=the-state&iss=${encodeURIComponent(issuer)}`),
    );
    expect(params.get("code")).toBe("abc");
  });

  it.each([
    ["a tampered state", "code=abc&state=another-state"],
    ["no state", "code=abc"],
    ["an empty state", "code=abc&state="],
  ])("refuses %s: the answer is to another login, or forged", (_, query) => {
    expect(() => checkCallback(as, pending, callback(query))).toThrow(
      /does not belong to the login this tab started/,
    );
  });

  it("refuses an answer from another issuer (iss), whatever its state", () => {
    expect(() =>
      checkCallback(as, pending, callback("code=abc&state=the-state&iss=https://evil.example")),
    ).toThrow(OidcLoginError);
  });

  it("refuses an answer without iss from an issuer that says it sends one", () => {
    expect(() =>
      checkCallback(
        { ...as, authorization_response_iss_parameter_supported: true },
        pending,
        callback("code=abc&state=the-state"),
      ),
    ).toThrow(OidcLoginError);
  });

  it("says what the issuer refused", () => {
    expect(() =>
      checkCallback(
        as,
        pending,
        callback("error=access_denied&error_description=not+for+you&state=the-state"),
      ),
    ).toThrow(new OidcLoginError("The issuer refused the login: access_denied (not for you)."));
  });

  it("refuses an answer without a code", () => {
    expect(() => checkCallback(as, pending, callback("state=the-state"))).toThrow(
      new OidcLoginError("The issuer's answer holds no code."),
    );
  });
});

describe("requirePendingLogin", () => {
  it("refuses an answer when this tab has no login waiting", () => {
    expect(() => requirePendingLogin(undefined)).toThrow(/no login waiting/);
    expect(requirePendingLogin(pending)).toBe(pending);
  });
});
