import { jwtClaims } from "../session/jwt-claims";
import { allowsPlainHttp } from "./issuer-rules";

/** Whether `token` is an ID token `issuer` issued (its `iss`): one whose session "Log out" may end there. */
export function isIdTokenOf(token: string, issuer: string): boolean {
  return jwtClaims(token)?.["iss"] === issuer;
}

/**
 * Where "Log out" sends the browser so that the issuer ends its session too
 * (OpenID Connect RP-Initiated Logout): the issuer's `end_session_endpoint`
 * with the ID token as `id_token_hint`, the client id, and where to come back
 * to. Undefined when the issuer advertises none, or one that is plain http
 * off loopback (the ID token would cross the network in the clear): the
 * console then logs out in this tab only.
 */
export function endSessionUrl(
  endpoint: string | undefined,
  request: { idToken: string; clientId: string; postLogoutRedirectUri: string },
): URL | undefined {
  if (!endpoint) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && !allowsPlainHttp(url)) return undefined;
  url.searchParams.set("id_token_hint", request.idToken);
  url.searchParams.set("client_id", request.clientId);
  url.searchParams.set("post_logout_redirect_uri", request.postLogoutRedirectUri);
  return url;
}
