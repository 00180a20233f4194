/**
 * Where the issuer sends the browser back after a login: the redirect URI
 * to register for the console at the issuer is the manager's URL with this
 * path (https://manager.example.com/console/oidc/callback).
 */
export const oidcCallbackPath = "/console/oidc/callback";

/** Whether the page is the issuer's answer to a login this console started. */
export function isOidcCallback(pathname: string): boolean {
  return pathname === oidcCallbackPath;
}

/** The redirect URI of the console served at `origin`. */
export function redirectUriOf(origin: string): string {
  return `${origin}${oidcCallbackPath}`;
}
