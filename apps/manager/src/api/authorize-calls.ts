import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { ProviderError } from "@virtrigaud/contracts";
import { Kind, type ManagerService } from "@virtrigaud/proto/manager";
import type { AccessRequest } from "../auth/access-decision.js";
import { recordAccessRequest } from "../auth/access-request-key.js";
import { type Authorizer, requestFor } from "../auth/authorizer.js";
import { anonymousIdentity } from "../auth/authenticate.js";
import { type Identity, identityOf } from "../auth/identity.js";
import { fromResource, kinds } from "../manifest/kinds.js";
import type { ResourceStore } from "../store/resource-store.js";
import { storeNamespace } from "./cluster-scope.js";

type Implementation = ServiceImpl<typeof ManagerService>;

/**
 * The caller's identity, set by the authentication interceptor; with
 * authorization off and no interceptor (an in-process service), anonymous.
 *
 * @throws ProviderError UNAUTHENTICATED when authorization is on and no
 * interceptor set one: a server assembled without it refuses everyone.
 */
function callerOf(context: HandlerContext, authorizer: Authorizer): Identity {
  const identity = identityOf(context.values);
  if (identity) return identity;
  if (!authorizer.on) return anonymousIdentity;
  throw ProviderError.unauthenticated("the caller's identity is unknown");
}

/**
 * Puts authorization in front of every ManagerService RPC, in Kubernetes'
 * verbs: Apply is create or update as the resource exists or not; Get, List,
 * Watch and Delete are their verbs on the kind (List and Watch of every
 * namespace need a ClusterRoleBinding; Watch of every kind shows only the
 * kinds the caller may watch); ListEvents is list on "events", ListAuditEntries
 * list on "auditentries" in every namespace; CreateConsoleTicket is the verb
 * "console" on the VirtualMachine; GetStatus,
 * WhoAmI and CheckAccess are for any authenticated caller.
 */
export function authorizeCalls(
  implementation: Omit<Implementation, "whoAmI" | "checkAccess">,
  store: ResourceStore,
  authorizer: Authorizer,
): Implementation {
  /** Checks a request, recorded first: the audit log names what a refused call asked for. */
  const check = (context: HandlerContext, caller: Identity, request: AccessRequest) => {
    recordAccessRequest(context.values, request);
    authorizer.check(caller, request);
  };
  // Every RPC is listed (no spread of the implementation): a new RPC does not
  // compile until it says who may call it.
  return {
    apply(request, context) {
      const inner = fromResource(request.resource);
      if (inner) {
        const meta = inner.message.metadata;
        const namespace = storeNamespace(inner.info.kind, meta?.namespace ?? "");
        const name = meta?.name ?? "";
        const exists = store.get(inner.info.kind, namespace, name) !== undefined;
        const caller = callerOf(context, authorizer);
        check(
          context,
          caller,
          requestFor(exists ? "update" : "create", inner.info.kind, namespace, name),
        );
        authorizer.checkGrants(caller, inner.info.kind, inner.message, namespace);
      }
      return implementation.apply(request, context);
    },
    get(request, context) {
      check(
        context,
        callerOf(context, authorizer),
        requestFor("get", request.kind, request.namespace || "default", request.name),
      );
      return implementation.get(request, context);
    },
    list(request, context) {
      const namespace = request.allNamespaces ? undefined : request.namespace || "default";
      check(context, callerOf(context, authorizer), requestFor("list", request.kind, namespace));
      return implementation.list(request, context);
    },
    delete(request, context) {
      check(
        context,
        callerOf(context, authorizer),
        requestFor("delete", request.kind, request.namespace || "default", request.name),
      );
      return implementation.delete(request, context);
    },
    watch(request, context) {
      const caller = callerOf(context, authorizer);
      const namespace = request.namespace || undefined;
      const name = request.name || undefined;
      if (request.kind) {
        check(context, caller, requestFor("watch", request.kind, namespace, name));
        return implementation.watch(request, context);
      }
      const visible = new Set<Kind>(
        kinds
          .filter(
            (k) => authorizer.decide(caller, requestFor("watch", k.kind, namespace, name)).allowed,
          )
          .map((k) => k.kind),
      );
      if (!visible.size) check(context, caller, { verb: "watch", resource: "*", namespace, name });
      return (implementation.watch as WatchWithKinds)(request, context, visible);
    },
    listEvents(request, context) {
      check(context, callerOf(context, authorizer), {
        verb: "list",
        resource: "events",
        namespace: request.namespace || undefined,
      });
      return implementation.listEvents(request, context);
    },
    listAuditEntries(request, context) {
      // Who did what, everywhere: for those who may list the audit log cluster-wide (admin).
      check(context, callerOf(context, authorizer), {
        verb: "list",
        resource: "auditentries",
        namespace: undefined,
      });
      return implementation.listAuditEntries(request, context);
    },
    getStatus(request, context) {
      callerOf(context, authorizer);
      return implementation.getStatus(request, context);
    },
    createConsoleTicket(request, context) {
      check(
        context,
        callerOf(context, authorizer),
        requestFor("console", Kind.VIRTUAL_MACHINE, request.namespace || "default", request.name),
      );
      return implementation.createConsoleTicket(request, context);
    },
    whoAmI(_request, context) {
      const caller = callerOf(context, authorizer);
      return { name: caller.name, groups: [...caller.groups], method: caller.method };
    },
    checkAccess(request, context) {
      const caller = callerOf(context, authorizer);
      const namespace = request.allNamespaces ? undefined : request.namespace || "default";
      return authorizer.decide(
        caller,
        requestFor(request.verb, request.kind, namespace, request.name || undefined),
      );
    },
  };
}

/** The watch implementation, which takes the kinds a watch of every kind may show. */
type WatchWithKinds = (
  ...args: [...Parameters<Implementation["watch"]>, ReadonlySet<Kind>]
) => ReturnType<Implementation["watch"]>;
