import { ProviderError } from "@virtrigaud/contracts";
import {
  type ClusterRole,
  type ClusterRoleBinding,
  Kind,
  type PolicyRule,
  type Role,
  type RoleBinding,
  type Subject,
} from "@virtrigaud/proto/manager";
import { type AnyResource, kindInfo, kinds } from "../manifest/kinds.js";
import type { ResourceStore } from "../store/resource-store.js";
import { type AccessDecision, type AccessRequest, decideAccess } from "./access-decision.js";
import { builtinClusterRoles } from "./builtin-roles.js";
import { ungrantable } from "./escalation.js";
import { type Identity, describeIdentity } from "./identity.js";

/** Decides what identities may do, over the Roles and bindings in the store. */
export interface Authorizer {
  /** Whether authorization is on (authentication is configured); off, everything is allowed. */
  readonly on: boolean;
  /**
   * Whether `identity` may do `verb` on `kind` in `namespace` (undefined:
   * every namespace at once; ignored for cluster-scoped kinds) and, when
   * given, the resource `name`. Pure over the store's current RBAC objects.
   */
  allows(identity: Identity, verb: string, kind: Kind, namespace?: string, name?: string): boolean;
  /** The same, with the reason. */
  decide(identity: Identity, request: AccessRequest): AccessDecision;
  /**
   * @throws ProviderError PERMISSION_DENIED naming the identity, the verb and
   * the resource, when not allowed.
   */
  check(identity: Identity, request: AccessRequest): void;
  /**
   * For a Role, ClusterRole or binding being applied: the caller must hold
   * every permission it would grant, in its scope (Kubernetes' escalation
   * check). Other kinds pass.
   *
   * @throws ProviderError PERMISSION_DENIED naming what the caller lacks.
   */
  checkGrants(identity: Identity, kind: Kind, message: AnyResource, namespace: string): void;
}

/** The resource name (lowercase plural) rules use for a kind. */
function resourceOf(kind: Kind): string {
  return kindInfo(kind).plural;
}

/** An access request for a kind, with cluster-scoped kinds asked for everywhere. */
export function requestFor(
  verb: string,
  kind: Kind,
  namespace: string | undefined,
  name?: string,
): AccessRequest {
  return {
    verb,
    resource: resourceOf(kind),
    namespace: kindInfo(kind).clusterScoped ? undefined : namespace,
    ...(name ? { name } : {}),
  };
}

function describeResource(request: AccessRequest): string {
  const where = request.namespace === undefined ? "" : `${request.namespace}/`;
  const scope =
    request.name !== undefined
      ? ` ${where}${request.name}`
      : request.namespace === undefined
        ? " in every namespace"
        : ` in namespace ${request.namespace}`;
  return `${request.resource}${scope}`;
}

/** Options of `createAuthorizer`. */
export interface AuthorizerOptions {
  /** Authentication is configured: without it, every caller is an administrator. */
  on: boolean;
  /** Users and groups bound to the built-in admin ClusterRole everywhere. */
  bootstrapAdmins?: readonly Subject[];
}

/**
 * The manager's authorizer: Kubernetes' RBAC over the Role, RoleBinding,
 * ClusterRole and ClusterRoleBinding resources in the store, the built-in
 * viewer, editor and admin ClusterRoles, and the bootstrap administrators.
 */
export function createAuthorizer(store: ResourceStore, options: AuthorizerOptions): Authorizer {
  const resources = [...kinds.map((k) => k.plural), "events"];
  const builtins = builtinClusterRoles(kinds.map((k) => k.plural));
  const policy = () => ({
    roles: store.list(Kind.ROLE) as Role[],
    roleBindings: store.list(Kind.ROLE_BINDING) as RoleBinding[],
    clusterRoles: store.list(Kind.CLUSTER_ROLE) as ClusterRole[],
    clusterRoleBindings: store.list(Kind.CLUSTER_ROLE_BINDING) as ClusterRoleBinding[],
    builtinClusterRoles: builtins,
    bootstrapAdmins: options.bootstrapAdmins ?? [],
  });
  const decide = (identity: Identity, request: AccessRequest): AccessDecision =>
    options.on
      ? decideAccess(policy(), identity, request)
      : { allowed: true, reason: "authentication is off: every caller is an administrator" };
  /** The rules a role or binding being applied would grant. */
  const rulesOf = (kind: Kind, message: AnyResource, namespace: string): readonly PolicyRule[] => {
    switch (kind) {
      case Kind.ROLE:
      case Kind.CLUSTER_ROLE:
        return (message as Role | ClusterRole).spec?.rules ?? [];
      case Kind.ROLE_BINDING:
      case Kind.CLUSTER_ROLE_BINDING: {
        const ref = (message as RoleBinding | ClusterRoleBinding).spec?.roleRef;
        if (!ref) return [];
        if (ref.kind === "Role")
          return (store.get(Kind.ROLE, namespace, ref.name) as Role | undefined)?.spec?.rules ?? [];
        return (
          builtins.get(ref.name) ??
          (store.list(Kind.CLUSTER_ROLE) as ClusterRole[]).find(
            (r) => r.metadata?.name === ref.name,
          )?.spec?.rules ??
          []
        );
      }
      default:
        return [];
    }
  };
  return {
    on: options.on,
    decide,
    checkGrants(identity, kind, message, namespace) {
      if (!options.on) return;
      const rules = rulesOf(kind, message, namespace);
      const scope = kindInfo(kind).clusterScoped ? undefined : namespace;
      const missing = ungrantable(rules, scope, (r) => decide(identity, r).allowed, resources);
      if (missing.length)
        throw ProviderError.permissionDenied(
          `${describeIdentity(identity)} may not grant what it does not hold${
            scope === undefined ? " everywhere" : ` in namespace ${scope}`
          }: ${missing.join(", ")}${missing.length >= 5 ? ", ..." : ""}`,
        );
    },
    allows: (identity, verb, kind, namespace, name) =>
      decide(identity, requestFor(verb, kind, namespace, name)).allowed,
    check(identity, request) {
      const decision = decide(identity, request);
      if (!decision.allowed)
        throw ProviderError.permissionDenied(
          `${describeIdentity(identity)} may not ${request.verb} ${describeResource(request)}: ${decision.reason}`,
        );
    },
  };
}
