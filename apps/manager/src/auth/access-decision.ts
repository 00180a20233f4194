import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
  RoleBindingSpec,
  Subject,
} from "@virtrigaud/proto/manager";
import type { Identity } from "./identity.js";

/** What a call wants to do, in Kubernetes' terms. */
export interface AccessRequest {
  /** get, list, watch, create, update, delete. */
  verb: string;
  /** The kind's lowercase plural ("virtualmachines"), or "events". */
  resource: string;
  /**
   * The namespace it acts in; undefined for every namespace at once and for
   * cluster-scoped kinds, which only ClusterRoleBindings grant.
   */
  namespace: string | undefined;
  /** The resource's name; undefined for list, watch and create of any name. */
  name?: string | undefined;
}

/** The RBAC objects the decision reads, and the built-in and bootstrap grants. */
export interface Policy {
  roles: readonly Role[];
  roleBindings: readonly RoleBinding[];
  clusterRoles: readonly ClusterRole[];
  clusterRoleBindings: readonly ClusterRoleBinding[];
  /** ClusterRoles that are not stored: viewer, editor, admin. */
  builtinClusterRoles: ReadonlyMap<string, readonly PolicyRule[]>;
  /** Subjects bound to the built-in admin everywhere (--bootstrap-admin). */
  bootstrapAdmins: readonly Subject[];
}

/** Whether a request is allowed, and why, for errors and `vrtg auth can-i`. */
export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

function namespaceOf(meta: { namespace: string } | undefined): string {
  return meta?.namespace || "default";
}

function subjectMatches(subject: Subject, identity: Identity): boolean {
  if (subject.kind === "User") return subject.name === identity.name;
  if (subject.kind === "Group") return identity.groups.includes(subject.name);
  return false;
}

function ruleMatches(rule: PolicyRule, request: AccessRequest): boolean {
  if (!rule.verbs.includes("*") && !rule.verbs.includes(request.verb)) return false;
  if (!rule.resources.includes("*") && !rule.resources.includes(request.resource)) return false;
  // Names narrow a rule to those resources: a request of no name (list, watch) is outside it.
  if (rule.resourceNames.length === 0) return true;
  return request.name !== undefined && rule.resourceNames.includes(request.name);
}

function bindsIdentity(spec: RoleBindingSpec | undefined, identity: Identity): boolean {
  return (spec?.subjects ?? []).some((s) => subjectMatches(s, identity));
}

/**
 * Decides a request as Kubernetes' RBAC authorizer does: allowed when some
 * rule of some role bound to the identity (by user name or group) names the
 * verb and the resource (and the name, when the rule lists names); denied
 * otherwise. ClusterRoleBindings grant everywhere; a RoleBinding grants only
 * in its own namespace, so never for every namespace at once nor for
 * cluster-scoped kinds. A binding to a role that does not exist grants
 * nothing.
 */
export function decideAccess(
  policy: Policy,
  identity: Identity,
  request: AccessRequest,
): AccessDecision {
  const clusterRoleRules = (name: string): readonly PolicyRule[] =>
    policy.builtinClusterRoles.get(name) ??
    policy.clusterRoles.find((r) => r.metadata?.name === name)?.spec?.rules ??
    [];
  const grants = (rules: readonly PolicyRule[]) => rules.some((r) => ruleMatches(r, request));

  if (
    policy.bootstrapAdmins.some((s) => subjectMatches(s, identity)) &&
    grants(clusterRoleRules("admin"))
  )
    return { allowed: true, reason: "bootstrap administrator (--bootstrap-admin)" };
  for (const binding of policy.clusterRoleBindings) {
    const ref = binding.spec?.roleRef;
    if (ref?.kind !== "ClusterRole" || !bindsIdentity(binding.spec, identity)) continue;
    if (grants(clusterRoleRules(ref.name)))
      return {
        allowed: true,
        reason: `ClusterRoleBinding ${binding.metadata?.name} grants ClusterRole ${ref.name}`,
      };
  }
  if (request.namespace !== undefined) {
    for (const binding of policy.roleBindings) {
      if (namespaceOf(binding.metadata) !== request.namespace) continue;
      const ref = binding.spec?.roleRef;
      if (!ref || !bindsIdentity(binding.spec, identity)) continue;
      const rules =
        ref.kind === "ClusterRole"
          ? clusterRoleRules(ref.name)
          : ref.kind === "Role"
            ? (policy.roles.find(
                (r) =>
                  r.metadata?.name === ref.name && namespaceOf(r.metadata) === request.namespace,
              )?.spec?.rules ?? [])
            : [];
      if (grants(rules))
        return {
          allowed: true,
          reason: `RoleBinding ${request.namespace}/${binding.metadata?.name} grants ${ref.kind} ${ref.name}`,
        };
    }
  }
  return { allowed: false, reason: "no role bound to the caller allows it" };
}
