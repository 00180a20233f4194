import { pageTokenOf } from "@virtrigaud/contracts";

/** Page size when a request asks for none. */
const defaultPageSize = 100;

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
