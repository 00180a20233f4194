import { type PolicyRule, PolicyRuleSchema } from "@virtrigaud/proto/manager";
import { create } from "@bufbuild/protobuf";

/** Kinds whose objects grant access: only administrators write them, as in Kubernetes. */
const rbacResources = ["roles", "rolebindings", "clusterroles", "clusterrolebindings"];

/** The verbs that read. */
const readVerbs = ["get", "list", "watch"];

/** The verbs that write. */
const writeVerbs = ["create", "update", "delete"];

/** Opens a VirtualMachine's console (CreateConsoleTicket): as good as a login on its guest. */
const consoleVerb = "console";

/** Every verb a rule may name ("*" names them all). */
export const allVerbs = [...readVerbs, ...writeVerbs, consoleVerb];

/** Kinds a viewer may not read: secret data, and who may do what. */
const hiddenFromViewers = new Set(["secrets", ...rbacResources]);

function rule(verbs: string[], resources: string[]): PolicyRule {
  return create(PolicyRuleSchema, { verbs, resources });
}

/**
 * The built-in ClusterRoles, after Kubernetes' view, edit and admin (with
 * cluster-admin folded into admin):
 * - viewer: get, list, watch every kind and events, but not secrets, nor the
 *   RBAC kinds (as Kubernetes' view);
 * - editor: the viewer's reads plus secrets, and every verb on every kind but
 *   the RBAC kinds (as Kubernetes' edit: who may edit VMs may read the secrets
 *   they use), and the consoles of VirtualMachines (a viewer has none);
 * - admin: every verb on every kind. Bound by a ClusterRoleBinding (or the
 *   --bootstrap-admin flag) that is everything; bound by a RoleBinding, it
 *   is everything within that binding's namespace (Roles and RoleBindings
 *   included), as Kubernetes' admin is.
 * They are not stored and cannot be applied, changed or deleted.
 */
export function builtinClusterRoles(
  resources: readonly string[],
): ReadonlyMap<string, PolicyRule[]> {
  const viewable = [...resources, "events"].filter((r) => !hiddenFromViewers.has(r));
  const editable = resources.filter((r) => !rbacResources.includes(r));
  return new Map([
    ["viewer", [rule(readVerbs, viewable)]],
    [
      "editor",
      [
        rule(readVerbs, [...viewable, "secrets"]),
        rule(writeVerbs, editable),
        rule([consoleVerb], ["virtualmachines"]),
      ],
    ],
    ["admin", [rule(["*"], ["*"])]],
  ]);
}
