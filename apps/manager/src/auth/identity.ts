import { type ContextValues, createContextKey } from "@connectrpc/connect";

/** How a caller proved who it is. */
type AuthMethod = "token" | "certificate" | "oidc" | "anonymous";

/**
 * Who a call comes from, as the manager's authentication established it.
 * A refused call (UNAUTHENTICATED) carries `anonymous` with method
 * "anonymous", or the name it claimed, with `unverified` set.
 */
export interface Identity {
  readonly name: string;
  readonly groups: readonly string[];
  readonly method: AuthMethod;
  /** Set when the name was claimed but not proved (a refused token's subject). */
  readonly unverified?: boolean;
}

/** The name of callers with no credentials. */
export const anonymousName = "anonymous";

/** Where the manager keeps the identity of a call, set before any refusal. */
export const identityKey = createContextKey<Identity | undefined>(undefined, {
  description: "virtrigaud caller identity",
});

/**
 * The identity of the current call, from a handler context's `values` or an
 * interceptor request's `contextValues` (a CallGuard or CallObserver);
 * undefined when authentication has not run for it (a call refused earlier,
 * by the rate limit or validation).
 */
export function identityOf(values: ContextValues): Identity | undefined {
  return values.get(identityKey);
}

/** "alice (groups: dev, ops)", for error messages and whoami. */
export function describeIdentity(identity: Identity): string {
  const groups = identity.groups.length ? ` (groups: ${identity.groups.join(", ")})` : "";
  return `"${identity.name}"${groups}`;
}
