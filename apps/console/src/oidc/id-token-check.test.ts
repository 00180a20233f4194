import { describe, expect, it } from "@jest/globals";
import type { AuthorizationServer } from "oauth4webapi";
import { idTokenOf } from "./id-token-check";
import { OidcLoginError } from "./oidc-login-error";

const issuer = "https://id.example.com";
const as: AuthorizationServer = { issuer, token_endpoint: `${issuer}/token` };
const clientId = "virtrigaud-console";
const now = Math.floor(Date.now() / 1000);
const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
// Signed by no one: the signature is the manager's to check, against the issuer's keys.
const idToken = (claims: Record<string, unknown>) =>
  `${part({ alg: "RS256", typ: "JWT" })}.${part({
    iss: issuer,
    aud: clientId,
    sub: "ada",
    iat: now,
    exp: now + 600,
    nonce: "the-nonce",
    ...claims,
  })}.c2lnbmF0dXJl`;
const tokenResponse = (body: Record<string, unknown>, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
const answer = (claims: Record<string, unknown> = {}) =>
  tokenResponse({ access_token: "at", token_type: "Bearer", id_token: idToken(claims) });

describe("idTokenOf", () => {
  it("returns the ID token of this login: its nonce, issuer, audience and times", async () => {
    const response = answer();
    const expected = idToken({});
    await expect(idTokenOf(as, clientId, response, "the-nonce")).resolves.toBe(expected);
  });

  it.each([
    ["another login's nonce", { nonce: "another-nonce" }, /"nonce"/],
    ["no nonce", { nonce: undefined }, /"nonce"/],
    ["another audience", { aud: "another-client" }, /"aud"/],
    ["another issuer", { iss: "https://evil.example" }, /"iss"/],
    ["an expiry past", { exp: now - 3600, iat: now - 7200 }, /"exp"/],
  ])("refuses an ID token with %s", async (_, claims, message) => {
    const refused = await idTokenOf(as, clientId, answer(claims), "the-nonce").catch(
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(OidcLoginError);
    expect((refused as Error).message).toMatch(message);
  });

  it("refuses an answer without an ID token", async () => {
    await expect(
      idTokenOf(as, clientId, tokenResponse({ access_token: "at", token_type: "Bearer" }), "n"),
    ).rejects.toThrow(OidcLoginError);
  });

  it("says what the issuer refused, never the code", async () => {
    const refused = tokenResponse({ error: "invalid_grant", error_description: "code abc" }, 400);
    await expect(idTokenOf(as, clientId, refused, "the-nonce")).rejects.toThrow(
      new OidcLoginError("The issuer refused the code: invalid_grant."),
    );
  });
});
