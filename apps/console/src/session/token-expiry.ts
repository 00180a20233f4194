/**
 * When `token` expires, in milliseconds since the epoch, when it is a JWT
 * with an `exp` (an OIDC ID token); undefined for any other token (a token
 * file's, which lasts until it leaves the file). Read, not checked: the
 * manager checks the token at every call.
 */
export function expiryOf(token: string): number | undefined {
  const payload = token.split(".");
  if (payload.length !== 3 || !payload[1]) return undefined;
  try {
    const base64 = payload[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const exp = typeof claims === "object" && claims !== null && "exp" in claims && claims.exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
