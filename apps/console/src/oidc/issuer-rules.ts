import { OidcLoginError } from "./oidc-login-error";

const loopback = (hostname: string) =>
  hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);

/**
 * Whether plain http may reach `url`: on a loopback address only, as the
 * manager's --oidc-issuer allows (an issuer on the same host).
 */
export function allowsPlainHttp(url: URL): boolean {
  return url.protocol === "http:" && loopback(url.hostname);
}

/**
 * Checks that the issuer's token endpoint is one the console may call: on
 * the issuer's own origin, the only one besides its own that the manager's
 * content security policy lets the page fetch from.
 *
 * @throws OidcLoginError saying what is wrong.
 */
export function checkTokenEndpoint(issuer: string, tokenEndpoint: string | undefined): URL {
  if (!tokenEndpoint) throw new OidcLoginError("The issuer names no token endpoint.");
  const endpoint = new URL(tokenEndpoint);
  if (endpoint.origin !== new URL(issuer).origin)
    throw new OidcLoginError(
      `The issuer's token endpoint is on ${endpoint.origin}, not on the issuer's origin: the console exchanges codes on the issuer's origin only.`,
    );
  return endpoint;
}
