import type { AuthorizationServer } from "oauth4webapi";
import { OidcLoginError } from "./oidc-login-error";

/** What one login asks the issuer for; state, nonce and verifier are new for each. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: readonly string[];
  /** BASE64URL(SHA-256(code_verifier)): the verifier itself stays in the tab. */
  codeChallenge: string;
  state: string;
  nonce: string;
}

/**
 * The URL that sends the browser to the issuer's login: the authorization
 * code flow with PKCE (S256), a state that ties the answer to this tab and
 * a nonce that ties the ID token to this login.
 *
 * @throws OidcLoginError when the issuer has no authorization endpoint or
 * says it does not take S256.
 */
export function authorizationUrl(
  as: Pick<AuthorizationServer, "authorization_endpoint" | "code_challenge_methods_supported">,
  request: AuthorizationRequest,
): URL {
  if (!as.authorization_endpoint)
    throw new OidcLoginError("The issuer names no authorization endpoint.");
  const methods = as.code_challenge_methods_supported;
  // An issuer that lists none may still take it; one that lists others does not.
  if (methods && !methods.includes("S256"))
    throw new OidcLoginError("The issuer does not take PKCE with S256.");
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", request.clientId);
  url.searchParams.set("redirect_uri", request.redirectUri);
  url.searchParams.set("scope", request.scopes.join(" "));
  url.searchParams.set("code_challenge", request.codeChallenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", request.state);
  url.searchParams.set("nonce", request.nonce);
  return url;
}
