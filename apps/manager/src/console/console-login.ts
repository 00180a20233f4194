import type { ConsoleFile } from "./console-files.js";

/**
 * How the console may log people in, told to any browser before anyone has
 * (GET /console/config.json). Never a secret: the console is a public OIDC
 * client (authorization code with PKCE, no client secret).
 */
export interface ConsoleLogin {
  /** OIDC login through this issuer; unset, the console asks for a bearer token only. */
  oidc?: {
    /** The issuer's URL, as its tokens' `iss` says it (the manager's --oidc-issuer). */
    issuer: string;
    /** The console's client id at the issuer: the audience the manager requires. */
    clientId: string;
    /** What the console asks for: "openid" and whatever brings the username and groups claims. */
    scopes: readonly string[];
  };
}

/** What the console asks an issuer for when no --oidc-scopes is given. */
export const defaultOidcScopes: readonly string[] = ["openid", "profile", "email"];

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const scopeToken = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

/**
 * Reads --oidc-scopes: scope tokens separated by spaces or commas, "openid"
 * among them (without it the issuer sends no ID token).
 *
 * @throws Error saying what is wrong.
 */
export function parseOidcScopes(text: string): string[] {
  const scopes = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  const bad = scopes.find((s) => !scopeToken.test(s));
  if (bad !== undefined) throw new Error(`${JSON.stringify(bad.slice(0, 100))} is no scope`);
  if (!scopes.includes("openid")) throw new Error('the scopes must include "openid"');
  return scopes;
}

/** /config.json of the console: what `login` says, no more. */
export function consoleConfigFile(login: ConsoleLogin): ConsoleFile {
  const body = Buffer.from(
    JSON.stringify(
      login.oidc
        ? {
            oidc: {
              issuer: login.oidc.issuer,
              clientId: login.oidc.clientId,
              scopes: login.oidc.scopes,
            },
          }
        : {},
    ),
  );
  // Checked again at each load: the flags may change at the next start.
  return { body, gzipped: undefined, contentType: "application/json", cacheControl: "no-cache" };
}

/**
 * The origins the console's pages may fetch from besides their own: the
 * issuer's, for its discovery document and token endpoint (the code is
 * exchanged from the browser, a public client's way).
 */
export function consoleConnectSources(login: ConsoleLogin): string[] {
  return login.oidc ? [new URL(login.oidc.issuer).origin] : [];
}
