import { expect, it } from "@jest/globals";
import { endSessionUrl, isIdTokenOf } from "./end-session";

const request = {
  idToken: "header.payload.signature",
  clientId: "virtrigaud-console",
  postLogoutRedirectUri: "https://manager.example:9090/console/",
};

it("sends the ID token, the client and the way back to the issuer's end_session_endpoint", () => {
  const url = endSessionUrl("https://login.example/session/end?ui=1", request);
  expect(url?.origin + (url?.pathname ?? "")).toBe("https://login.example/session/end");
  expect(Object.fromEntries(url?.searchParams ?? [])).toEqual({
    ui: "1",
    id_token_hint: "header.payload.signature",
    client_id: "virtrigaud-console",
    post_logout_redirect_uri: "https://manager.example:9090/console/",
  });
});

it("takes plain http on loopback only", () => {
  expect(endSessionUrl("http://127.0.0.1:4000/session/end", request)?.host).toBe("127.0.0.1:4000");
  expect(endSessionUrl("http://login.example/session/end", request)).toBeUndefined();
});

it.each([undefined, "", "not a url"])("logs out in the tab only for an endpoint %j", (endpoint) => {
  expect(endSessionUrl(endpoint, request)).toBeUndefined();
});

const jwt = (claims: object) =>
  `e30.${btoa(JSON.stringify(claims)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}.sig`;

it("tells the issuer's ID tokens from other tokens", () => {
  expect(isIdTokenOf(jwt({ iss: "https://login.example" }), "https://login.example")).toBe(true);
  expect(isIdTokenOf(jwt({ iss: "https://other.example" }), "https://login.example")).toBe(false);
  expect(isIdTokenOf("console-admin-token-0123456789", "https://login.example")).toBe(false);
});
