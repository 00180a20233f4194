/** The console's pages, under /console/. */
export type Route =
  | { page: "fleet" }
  | { page: "providers" }
  | { page: "apply" }
  | { page: "migrations" }
  | { page: "vm"; namespace: string; name: string }
  | { page: "migration"; namespace: string; name: string };

const basePath = "/console/";

/** The page a location's path shows; anything unknown is the fleet. */
export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(basePath) ? pathname.slice(basePath.length) : "";
  const parts = rest.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 3 && parts[1] && parts[2]) {
    if (parts[0] === "vms") return { page: "vm", namespace: parts[1], name: parts[2] };
    if (parts[0] === "migrations")
      return { page: "migration", namespace: parts[1], name: parts[2] };
  }
  if (parts.length === 1 && parts[0] === "providers") return { page: "providers" };
  if (parts.length === 1 && parts[0] === "apply") return { page: "apply" };
  if (parts.length === 1 && parts[0] === "migrations") return { page: "migrations" };
  return { page: "fleet" };
}

/** The path of a page, the inverse of `parseRoute`. */
export function pathOf(route: Route): string {
  switch (route.page) {
    case "vm":
    case "migration":
      return `${basePath}${route.page === "vm" ? "vms" : "migrations"}/${encodeURIComponent(route.namespace)}/${encodeURIComponent(route.name)}`;
    case "fleet":
      return basePath;
    default:
      return `${basePath}${route.page}`;
  }
}
