/**
 * Thrown when an OIDC login cannot go on; its message is shown to the
 * person logging in, so it never holds a code or a token.
 */
export class OidcLoginError extends Error {
  override name = "OidcLoginError";
}

/** What to tell the person logging in about `err`. */
export function loginFailureText(err: unknown): string {
  if (err instanceof OidcLoginError) return err.message;
  return `The login failed: ${err instanceof Error ? err.message : String(err)}`;
}
