import type { Kind } from "@virtrigaud/proto/manager";
import { clusterNamespace, kindInfo } from "../manifest/kinds.js";

/**
 * The namespace a resource of `kind` sits in in the store: the one asked
 * for ("" is "default"), or, for a cluster-scoped kind, always
 * `clusterNamespace`, whatever was asked.
 */
export function storeNamespace(kind: Kind, requested: string): string {
  return kindInfo(kind).clusterScoped ? clusterNamespace : requested || "default";
}
