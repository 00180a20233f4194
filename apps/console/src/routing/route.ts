/** The console's pages, under /console/. */
export type Route =
  { page: "fleet" } | { page: "providers" } | { page: "vm"; namespace: string; name: string };

const basePath = "/console/";

/** The page a location's path shows; anything unknown is the fleet. */
export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(basePath) ? pathname.slice(basePath.length) : "";
  const parts = rest.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 3 && parts[0] === "vms" && parts[1] && parts[2])
    return { page: "vm", namespace: parts[1], name: parts[2] };
  if (parts.length === 1 && parts[0] === "providers") return { page: "providers" };
  return { page: "fleet" };
}

/** The path of a page, the inverse of `parseRoute`. */
export function pathOf(route: Route): string {
  if (route.page === "vm")
    return `${basePath}vms/${encodeURIComponent(route.namespace)}/${encodeURIComponent(route.name)}`;
  if (route.page === "providers") return `${basePath}providers`;
  return basePath;
}
