import { jwtClaims } from "./jwt-claims";

/**
 * When `token` expires, in milliseconds since the epoch, when it is a JWT
 * with an `exp` (an OIDC ID token); undefined for any other token (a token
 * file's, which lasts until it leaves the file). Read, not checked: the
 * manager checks the token at every call.
 */
export function expiryOf(token: string): number | undefined {
  const exp = jwtClaims(token)?.["exp"];
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}
