import { oidcCallbackPath } from "./callback-path";

/**
 * A login this tab started and the issuer has not answered yet: what the
 * answer is checked against and what redeems its code.
 */
export interface PendingLogin {
  issuer: string;
  clientId: string;
  redirectUri: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The console's page to go back to once logged in. */
  returnTo: string;
}

// In this tab's sessionStorage, as the token: it survives the trip to the
// issuer and back, and no other tab or site can read it.
const key = "virtrigaud.console.oidc-login";
const fields = [
  "issuer",
  "clientId",
  "redirectUri",
  "state",
  "nonce",
  "codeVerifier",
  "returnTo",
] as const;

/** A page of the console to go back to: `path` when it is one, else the fleet. */
export function consolePathOr(path: string): string {
  return path.startsWith("/console/") && !path.startsWith(oidcCallbackPath) ? path : "/console/";
}

/** The pending login stored as `text`, or undefined when it is not one. */
export function parsePendingLogin(text: string | null): PendingLogin | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (!fields.every((f) => typeof record[f] === "string" && record[f] !== "")) return undefined;
  const login = Object.fromEntries(fields.map((f) => [f, record[f]])) as unknown as PendingLogin;
  return { ...login, returnTo: consolePathOr(login.returnTo) };
}

export function savePendingLogin(login: PendingLogin): void {
  sessionStorage.setItem(key, JSON.stringify(login));
}

/** The pending login, removed: an answer of the issuer is tried once only. */
export function takePendingLogin(): PendingLogin | undefined {
  const login = parsePendingLogin(sessionStorage.getItem(key));
  sessionStorage.removeItem(key);
  return login;
}
