import { type JWTVerifyGetKey, createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { isLoopbackHost } from "@virtrigaud/contracts/server";

/** Where OIDC ID tokens come from and what in them names the user. */
export interface OidcOptions {
  /** The issuer's URL, as its tokens' `iss` claim says it. */
  issuer: string;
  /** The `aud` a token must carry: this manager's client id at the issuer. */
  audience: string;
  /** Default "sub". */
  usernameClaim?: string;
  /** Default "groups". */
  groupsClaim?: string;
  /**
   * Put before every OIDC user name, so an issuer's user cannot take the
   * name of a token file's user or a bootstrap administrator. Default, as
   * Kubernetes': "ISSUER#" unless the username claim is "email"; "-" for none.
   */
  usernamePrefix?: string;
  /** Put before every OIDC group. Default: none. */
  groupsPrefix?: string;
}

/** Checks OIDC ID tokens and says who they name. */
export interface OidcVerifier {
  /** @throws Error for a token that fails any check. */
  verify(token: string): Promise<{ name: string; groups: string[] }>;
  /** The user name a token claims, prefixed, without checking it; undefined when unreadable. */
  claimedName(token: string): string | undefined;
}

/**
 * Checks the issuer's URL: https, or http on a loopback address only (an
 * issuer on the manager's own host: whoever could tamper with that traffic
 * already holds the host). The tests' issuer is one.
 *
 * @throws Error saying what is wrong.
 */
export function checkIssuerUrl(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error("--oidc-issuer must be a URL");
  }
  const loopback = isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ""));
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    throw new Error("--oidc-issuer must be an https URL (http only on a loopback address)");
  return url;
}

/**
 * Verifies ID tokens as Kubernetes' OIDC authenticator does: the signature
 * against the issuer's keys (found through its discovery document,
 * fetched and cached by jose, fetched again for an unknown key id), the
 * issuer, the audience and the expiry; the user is the username claim,
 * the groups the groups claim.
 *
 */
export function createOidcVerifier(options: OidcOptions): OidcVerifier {
  const issuerUrl = checkIssuerUrl(options.issuer);
  const usernameClaim = options.usernameClaim ?? "sub";
  const groupsClaim = options.groupsClaim ?? "groups";
  const usernamePrefix =
    options.usernamePrefix === "-"
      ? ""
      : (options.usernamePrefix ?? (usernameClaim === "email" ? "" : `${options.issuer}#`));
  const groupsPrefix = options.groupsPrefix ?? "";
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const base = issuerUrl.href.replace(/\/$/, "");
    const response = await fetch(`${base}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`the issuer's discovery document: HTTP ${response.status}`);
    const document = (await response.json()) as { jwks_uri?: unknown };
    if (typeof document.jwks_uri !== "string")
      throw new Error("the issuer's discovery document has no jwks_uri");
    const jwksUrl = checkIssuerUrl(document.jwks_uri);
    return createRemoteJWKSet(jwksUrl, { timeoutDuration: 5000 });
  };
  const verify = async (token: string) => {
    // A failed discovery is tried again on the next token.
    const getKey = await (keys ??= discover().catch((err: unknown) => {
      keys = undefined;
      throw err;
    }));
    const { payload } = await jwtVerify(token, getKey, {
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ["exp"],
    });
    const name = payload[usernameClaim];
    if (typeof name !== "string" || !name)
      throw new Error(`the token has no ${usernameClaim} claim`);
    const groupValue = payload[groupsClaim];
    const groups = Array.isArray(groupValue)
      ? groupValue.filter((g): g is string => typeof g === "string")
      : typeof groupValue === "string"
        ? [groupValue]
        : [];
    return { name: usernamePrefix + name, groups: groups.map((g) => groupsPrefix + g) };
  };
  const claimedName = (token: string) => {
    try {
      const claimed = decodeJwt(token)[usernameClaim];
      return typeof claimed === "string" && claimed
        ? (usernamePrefix + claimed).slice(0, 253)
        : undefined;
    } catch {
      return undefined;
    }
  };
  return { verify, claimedName };
}
