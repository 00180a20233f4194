import { ProviderError } from "@virtrigaud/contracts";

/** Page size when a request asks for none. */
const defaultPageSize = 100;

/**
 * The name a ListVMs page token says to continue after ("" without a token).
 * Tokens are "after:<name>" in base64url, so a page starts where the last
 * ended even when VMs come and go in between.
 *
 * @throws ProviderError INVALID_SPEC at page_token for a token the provider did not hand out.
 */
export function pageTokenAfter(token: string): string {
  if (!token) return "";
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith("after:"))
    throw ProviderError.invalidSpec("page_token", "is not a token this provider handed out");
  return text.slice("after:".length);
}

/** The page token that continues after the VM named `name`. */
export function pageTokenOf(name: string): string {
  return Buffer.from(`after:${name}`).toString("base64url");
}

/**
 * One page of `items`: those whose name starts with `namePrefix` and sorts
 * after `after`, by name, at most `pageSize` of them (100 when 0), with the
 * token of the next page ("" on the last).
 */
export function pageByName<T extends { name: string }>(
  items: T[],
  request: { namePrefix: string; pageSize: number },
  after: string,
): { page: T[]; nextPageToken: string } {
  const matching = items
    .filter((item) => item.name.startsWith(request.namePrefix) && (!after || item.name > after))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const size = request.pageSize || defaultPageSize;
  const page = matching.slice(0, size);
  const last = page.at(-1);
  return {
    page,
    nextPageToken: matching.length > size && last ? pageTokenOf(last.name) : "",
  };
}
