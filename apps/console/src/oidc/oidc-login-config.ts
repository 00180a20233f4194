/**
 * What the manager's /console/config.json says about OIDC login: the issuer
 * to send people to, the console's client id there (a public client: no
 * secret) and the scopes to ask for.
 */
export interface OidcLoginConfig {
  issuer: string;
  clientId: string;
  scopes: string[];
}

const isText = (value: unknown): value is string => typeof value === "string" && value !== "";

/**
 * The OIDC login /console/config.json offers, if it offers one; anything
 * malformed offers none (the token form still works).
 */
export function parseOidcLoginConfig(json: unknown): OidcLoginConfig | undefined {
  if (typeof json !== "object" || json === null || !("oidc" in json)) return undefined;
  const oidc: unknown = json.oidc;
  if (typeof oidc !== "object" || oidc === null) return undefined;
  const { issuer, clientId, scopes } = oidc as Record<string, unknown>;
  if (!isText(issuer) || !isText(clientId) || !Array.isArray(scopes)) return undefined;
  if (!scopes.every(isText) || !scopes.includes("openid")) return undefined;
  return { issuer, clientId, scopes };
}
