import { useQuery } from "@connectrpc/connect-query";
import { type Kind, ManagerService } from "@virtrigaud/proto/manager";

/**
 * Whether the manager lets the caller do `verb` on `kind` (CheckAccess), so
 * a page shows only the actions the caller may take; undefined until it
 * answers. The API checks each request anyway.
 */
export function useAllowed(
  verb: "create" | "update" | "delete" | "console",
  kind: Kind,
  namespace: string,
  name = "",
): boolean | undefined {
  const access = useQuery(ManagerService.method.checkAccess, { verb, kind, namespace, name });
  return access.data?.allowed;
}
