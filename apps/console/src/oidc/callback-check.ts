import {
  type AuthorizationServer,
  AuthorizationResponseError,
  OperationProcessingError,
  validateAuthResponse,
} from "oauth4webapi";
import { OidcLoginError } from "./oidc-login-error";
import type { PendingLogin } from "./pending-login";

/**
 * The login this tab started, which an answer of the issuer must belong to.
 *
 * @throws OidcLoginError when there is none: started in another tab, or
 * answered already (an answer is tried once).
 */
export function requirePendingLogin(pending: PendingLogin | undefined): PendingLogin {
  if (!pending)
    throw new OidcLoginError(
      "This tab has no login waiting for the issuer's answer (started elsewhere, or answered already): log in again.",
    );
  return pending;
}

/**
 * Checks the issuer's answer (the callback's URL) against the login this tab
 * started: the same state, the issuer's `iss` when it sends one, no error,
 * a code. Returns the parameters that redeem the code.
 *
 * @throws OidcLoginError when the state differs (an answer to another
 * login, or forged), or the issuer refused.
 */
export function checkCallback(
  as: AuthorizationServer,
  pending: PendingLogin,
  callback: URL,
): URLSearchParams {
  let params: URLSearchParams;
  try {
    params = validateAuthResponse(as, { client_id: pending.clientId }, callback, pending.state);
  } catch (err) {
    if (err instanceof AuthorizationResponseError)
      throw new OidcLoginError(
        `The issuer refused the login: ${err.error}${err.error_description ? ` (${err.error_description})` : ""}.`,
      );
    if (err instanceof OperationProcessingError && /"state"/.test(err.message))
      throw new OidcLoginError(
        "The issuer's answer does not belong to the login this tab started (its state differs): log in again.",
      );
    if (err instanceof OperationProcessingError)
      throw new OidcLoginError(`The issuer's answer is refused: ${err.message}.`);
    throw err;
  }
  if (!params.get("code")) throw new OidcLoginError("The issuer's answer holds no code.");
  return params;
}
