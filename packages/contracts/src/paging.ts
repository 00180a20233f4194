import { ProviderError } from "./errors/provider-error.js";

/**
 * The name a ListVMs page token says to continue after ("" without a token).
 * Tokens are "after:<name>" in base64url, so a page starts where the last
 * ended even when VMs come and go in between: a provider sorts by name and
 * returns the names after this one.
 *
 * @throws ProviderError INVALID_SPEC at page_token for a token that is not one of these.
 */
export function pageTokenAfter(token: string): string {
  if (!token) return "";
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith("after:"))
    throw ProviderError.invalidSpec("page_token", "is not a token this provider handed out");
  return text.slice("after:".length);
}

/** The ListVMs page token that continues after the VM named `name`. */
export function pageTokenOf(name: string): string {
  return Buffer.from(`after:${name}`).toString("base64url");
}
