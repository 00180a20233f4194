// The browser's side of an OIDC login, loaded only when someone logs in
// through the issuer: oauth4webapi and what uses it stay out of the
// console's main bundle.
import {
  type AuthorizationServer,
  None,
  allowInsecureRequests,
  authorizationCodeGrantRequest,
  calculatePKCECodeChallenge,
  discoveryRequest,
  generateRandomCodeVerifier,
  generateRandomNonce,
  generateRandomState,
  processDiscoveryResponse,
} from "oauth4webapi";
import { authorizationUrl } from "./authorization-request";
import { redirectUriOf } from "./callback-path";
import { checkCallback, requirePendingLogin } from "./callback-check";
import { endSessionUrl } from "./end-session";
import { idTokenOf } from "./id-token-check";
import { allowsPlainHttp, checkTokenEndpoint } from "./issuer-rules";
import type { OidcLoginConfig } from "./oidc-login-config";
import { OidcLoginError } from "./oidc-login-error";
import { savePendingLogin, takePendingLogin } from "./pending-login";

const plainHttpIfLoopback = (url: URL) =>
  allowsPlainHttp(url) ? { [allowInsecureRequests]: true } : {};

/** The issuer's metadata, from its discovery document. */
async function discover(issuer: string): Promise<AuthorizationServer> {
  const url = new URL(issuer);
  try {
    return await processDiscoveryResponse(
      url,
      await discoveryRequest(url, {
        ...plainHttpIfLoopback(url),
        signal: AbortSignal.timeout(10_000),
      }),
    );
  } catch (err) {
    throw new OidcLoginError(
      `The issuer's discovery document cannot be read: ${err instanceof Error ? err.message : String(err)}.`,
    );
  }
}

/**
 * Starts a login: a new state, nonce and PKCE verifier kept in this tab, and
 * the issuer's URL to send the browser to.
 *
 * @throws OidcLoginError when the issuer cannot be used.
 */
export async function startOidcLogin(config: OidcLoginConfig, returnTo: string): Promise<URL> {
  const as = await discover(config.issuer);
  checkTokenEndpoint(config.issuer, as.token_endpoint);
  const codeVerifier = generateRandomCodeVerifier();
  const pending = {
    issuer: config.issuer,
    clientId: config.clientId,
    redirectUri: redirectUriOf(window.location.origin),
    state: generateRandomState(),
    nonce: generateRandomNonce(),
    codeVerifier,
    returnTo,
  };
  const url = authorizationUrl(as, {
    ...pending,
    scopes: config.scopes,
    codeChallenge: await calculatePKCECodeChallenge(codeVerifier),
  });
  savePendingLogin(pending);
  return url;
}

/**
 * Finishes the login this tab started with the issuer's answer (`callback`,
 * the page's URL): checks it, redeems the code at the token endpoint with
 * the verifier, and returns the checked ID token and the page to go back to.
 *
 * @throws OidcLoginError for an answer to no login of this tab, a state
 * that differs, or a refusal of the issuer.
 */
export async function finishOidcLogin(
  callback: URL,
): Promise<{ idToken: string; returnTo: string }> {
  const login = requirePendingLogin(takePendingLogin());
  const as = await discover(login.issuer);
  const params = checkCallback(as, login, callback);
  const tokenEndpoint = checkTokenEndpoint(login.issuer, as.token_endpoint);
  let response: Response;
  try {
    response = await authorizationCodeGrantRequest(
      as,
      { client_id: login.clientId },
      None(),
      params,
      login.redirectUri,
      login.codeVerifier,
      { ...plainHttpIfLoopback(tokenEndpoint), signal: AbortSignal.timeout(10_000) },
    );
  } catch (err) {
    throw new OidcLoginError(
      `The issuer's token endpoint cannot be reached: ${err instanceof Error ? err.message : String(err)}.`,
    );
  }
  return {
    idToken: await idTokenOf(as, login.clientId, response, login.nonce),
    returnTo: login.returnTo,
  };
}

/**
 * Where to send the browser to end the issuer's session for `idToken` (see
 * `endSessionUrl`), coming back to the console's first page; undefined when
 * the issuer offers no logout or its discovery document cannot be read.
 */
export async function endSessionAt(
  config: OidcLoginConfig,
  idToken: string,
): Promise<URL | undefined> {
  const as = await discover(config.issuer).catch(() => undefined);
  return endSessionUrl(as?.end_session_endpoint, {
    idToken,
    clientId: config.clientId,
    postLogoutRedirectUri: new URL("/console/", window.location.origin).toString(),
  });
}
