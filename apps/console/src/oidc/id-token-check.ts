import {
  type AuthorizationServer,
  OperationProcessingError,
  ResponseBodyError,
  processAuthorizationCodeResponse,
} from "oauth4webapi";
import { OidcLoginError } from "./oidc-login-error";

/**
 * The ID token of the token endpoint's answer, once checked: its issuer,
 * its audience (this client), its times and its nonce (this login's). Its
 * signature is not checked here: it came straight from the issuer's token
 * endpoint, and the manager checks it against the issuer's keys at every
 * call anyway.
 *
 * @throws OidcLoginError when the issuer refused the code or the ID token
 * fails a check.
 */
export async function idTokenOf(
  as: AuthorizationServer,
  clientId: string,
  response: Response,
  nonce: string,
): Promise<string> {
  try {
    const result = await processAuthorizationCodeResponse(as, { client_id: clientId }, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
    if (!result.id_token) throw new OidcLoginError("The issuer sent no ID token.");
    return result.id_token;
  } catch (err) {
    if (err instanceof ResponseBodyError)
      throw new OidcLoginError(`The issuer refused the code: ${err.error}.`);
    // Its messages name the check, never the token (that is in `cause`).
    if (err instanceof OperationProcessingError)
      throw new OidcLoginError(`The issuer's ID token is refused: ${err.message}.`);
    throw err;
  }
}
