import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { ProviderError } from "@virtrigaud/contracts";
import {
  ApplyResponseSchema,
  GetResponseSchema,
  Kind,
  ListResponseSchema,
  type ManagerService,
  type Provider as ProviderResource,
  type Resource,
  type Secret,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import type { EndpointAllowlist } from "../controllers/endpoint-allowlist.js";
import { providersNaming, vmsReferring } from "../controllers/references.js";
import { type AnyResource, fromResource, kindInfo, toResource } from "../manifest/kinds.js";
import { parseLabelSelector } from "../store/label-selector.js";
import { type ResourceStore, namespaceOf } from "../store/resource-store.js";
import type { AuditLog } from "../audit/audit-log.js";
import { auditEntryMessage } from "../audit/audit-entry-message.js";
import type { LeadershipStatus } from "../leadership.js";
import { isBinary, withResourceBytes } from "./resource-bytes.js";
import { type Authorizer, createAuthorizer } from "../auth/authorizer.js";
import { authorizeCalls } from "./authorize-calls.js";
import { storeNamespace } from "./cluster-scope.js";
import { type SecretAccess, createSecretAccess } from "../secrets/secret-access.js";
import {
  checkProviderChange,
  checkReferencesShared,
  validateResource,
} from "./validate-resource.js";
import { type WatchOptions, createWatch } from "./watch-resources.js";
import type { ConsoleTickets } from "../console-relay/console-tickets.js";
import { createConsoleTicket } from "../console-relay/create-console-ticket.js";

/** The finalizer the manager puts on VirtualMachines: the VM goes at the provider first. */
export const vmFinalizer = "virtrigaud.io/vm-cleanup";
/** The finalizer on VMSnapshots: the snapshot goes at the provider first. */
export const snapshotFinalizer = "virtrigaud.io/snapshot-cleanup";
/** The finalizer on VMMigrations: what the migration made goes, and the source is put back, first. */
export const migrationFinalizer = "virtrigaud.io/migration-cleanup";

const defaultFinalizers: Partial<Record<Kind, string[]>> = {
  [Kind.VIRTUAL_MACHINE]: [vmFinalizer],
  [Kind.VM_SNAPSHOT]: [snapshotFinalizer],
  [Kind.VM_MIGRATION]: [migrationFinalizer],
};

/** Kinds whose deletion is refused while VirtualMachines refer to them. */
const referenced = new Set([
  Kind.PROVIDER,
  Kind.VM_CLASS,
  Kind.VM_IMAGE,
  Kind.VM_NETWORK_ATTACHMENT,
  Kind.SECRET,
]);

/** Options of `createManagerService`: those of its watches, and who runs the controllers. */
export interface ManagerServiceOptions extends WatchOptions {
  /** For GetStatus. Default: this manager alone, on its embedded store. */
  leadership?: () => LeadershipStatus;
  /** The only directory Provider TLS files may be in. */
  providerTlsDir?: string | undefined;
  /** For ListAuditEntries. Default: none (no entries). */
  auditLog?: AuditLog;
  /** Who may do what. Default: everyone everything (authentication off). */
  authorizer?: Authorizer;
  /** How Secrets are sealed for the store. Default: no key file, so Secrets are refused. */
  secrets?: SecretAccess;
  /**
   * Whether the caller may read the values of Secrets in `namespace`. Where
   * it says no, Get, List and Watch answer Secrets without data (no keys
   * either: a Secret's keys can say what it holds). Apply and Delete never
   * answer with data. Default: yes.
   */
  maySeeSecretData?: (context: HandlerContext, namespace: string) => boolean;
  /** Where Provider endpoints may point; unset, anywhere. */
  providerEndpoints?: EndpointAllowlist | undefined;
  /** The console relay's tickets (CreateConsoleTicket). Default: none, so it answers UNSUPPORTED. */
  consoleTickets?: ConsoleTickets | undefined;
}

/**
 * The ManagerService implementation over a store: apply with validation and
 * optimistic concurrency, get, list by labels, delete with in-use checks,
 * resumable watches with a bounded backlog each, and events; every call
 * authorized by `options.authorizer` first. Cluster-scoped kinds
 * (ClusterRole, ClusterRoleBinding) sit in the store's `clusterNamespace`,
 * whatever namespace a request names.
 */
export function createManagerService(
  store: ResourceStore,
  options: ManagerServiceOptions = {},
): ServiceImpl<typeof ManagerService> {
  const authorizer = options.authorizer ?? createAuthorizer(store, { on: false });
  return authorizeCalls(createResourceCalls(store, options), store, authorizer);
}

function createResourceCalls(
  store: ResourceStore,
  options: ManagerServiceOptions,
): Omit<ServiceImpl<typeof ManagerService>, "whoAmI" | "checkAccess"> {
  const secrets = options.secrets ?? createSecretAccess(undefined);
  const maySee = options.maySeeSecretData ?? (() => true);
  /** A stored resource as this caller gets it: a Secret never in its sealed form. */
  const present = (
    kind: Kind,
    message: AnyResource,
    context: HandlerContext | undefined,
  ): AnyResource =>
    kind === Kind.SECRET
      ? secrets.present(
          message as Secret,
          context !== undefined && maySee(context, namespaceOf(message)),
        )
      : message;
  /** Without a caller's context (Apply's and Delete's answers), a Secret carries no data. */
  const wrap = (kind: Kind, message: AnyResource, context?: HandlerContext): Resource =>
    toResource(kind, present(kind, message, context));
  const watch = createWatch(store, { ...options, present });
  return {
    async apply(request, context) {
      const inner = fromResource(request.resource);
      if (!inner) throw ProviderError.invalidSpec("resource", "is required");
      const { info, message } = inner;
      if (info.clusterScoped && message.metadata)
        message.metadata.namespace = storeNamespace(info.kind, "");
      const namespace = namespaceOf(message);
      const existing = store.get(info.kind, namespace, message.metadata?.name ?? "");
      validateResource(info.kind, message, existing, {
        providerTlsDir: options.providerTlsDir,
        providerEndpoints: options.providerEndpoints,
      });
      // Sealed here, so the store never sees the values.
      const toStore =
        info.kind === Kind.SECRET
          ? secrets.sealForStore(message as Secret, existing as Secret | undefined)
          : message;
      if (info.kind === Kind.PROVIDER)
        checkProviderChange(
          message as ProviderResource,
          existing as ProviderResource | undefined,
          vmsReferring(store, Kind.PROVIDER, namespace, message.metadata?.name ?? ""),
        );
      if (info.kind === Kind.VIRTUAL_MACHINE)
        checkReferencesShared(message as VirtualMachine, (k, ns, n) => store.get(k, ns, n));
      const result = await store.apply(info.kind, toStore, {
        finalizers: defaultFinalizers[info.kind] ?? [],
        dryRun: request.dryRun,
      });
      // Secrets go as messages: what the caller may see of them, never the sealed bytes.
      if (info.kind === Kind.SECRET || !isBinary(context.requestHeader))
        return { resource: wrap(info.kind, result.message), outcome: result.outcome };
      return withResourceBytes(
        create(ApplyResponseSchema, { outcome: result.outcome }),
        ApplyResponseSchema.field.resource.number,
        [{ kind: info.kind, message: result.message }],
      );
    },

    get(request, context) {
      const info = kindInfo(request.kind);
      const namespace = storeNamespace(request.kind, request.namespace);
      const message = store.get(request.kind, namespace, request.name);
      if (!message)
        throw ProviderError.notFound(`${info.name} ${namespace}/${request.name} does not exist`);
      if (request.kind === Kind.SECRET || !isBinary(context.requestHeader))
        return { resource: wrap(request.kind, message, context) };
      return withResourceBytes(create(GetResponseSchema), GetResponseSchema.field.resource.number, [
        { kind: request.kind, message },
      ]);
    },

    list(request, context) {
      const matches = parseLabelSelector(request.labelSelector);
      const namespace =
        request.allNamespaces && !kindInfo(request.kind).clusterScoped
          ? undefined
          : storeNamespace(request.kind, request.namespace);
      const resourceVersion = String(store.resourceVersion);
      const items = store
        .list(request.kind, namespace)
        .filter((m) => matches(m.metadata?.labels ?? {}))
        .sort((a, b) => {
          const na = namespaceOf(a);
          const nb = namespaceOf(b);
          if (na !== nb) return na < nb ? -1 : 1;
          const a1 = a.metadata?.name ?? "";
          const b1 = b.metadata?.name ?? "";
          return a1 < b1 ? -1 : a1 > b1 ? 1 : 0;
        });
      // Secrets go as messages: what the caller may see of them, never the sealed bytes.
      if (request.kind === Kind.SECRET || !isBinary(context.requestHeader))
        return {
          resources: items.map((m) => wrap(request.kind, m, context)),
          resourceVersion,
        };
      return withResourceBytes(
        create(ListResponseSchema, { resourceVersion }),
        ListResponseSchema.field.resources.number,
        items.map((message) => ({ kind: request.kind, message })),
      );
    },

    async delete(request) {
      const info = kindInfo(request.kind);
      const namespace = storeNamespace(request.kind, request.namespace);
      if (referenced.has(request.kind)) {
        const users = vmsReferring(store, request.kind, namespace, request.name);
        if (users.length) {
          throw ProviderError.conflict(
            `${info.name} ${namespace}/${request.name} is used by VirtualMachine ${users.slice(0, 5).join(", ")}${
              users.length > 5 ? ` and ${users.length - 5} more` : ""
            }; delete them first`,
          );
        }
      }
      const providers =
        request.kind === Kind.SECRET ? providersNaming(store, `${namespace}/${request.name}`) : [];
      if (providers.length)
        throw ProviderError.conflict(
          `Secret ${namespace}/${request.name} holds the credentials of Provider ${providers.slice(0, 5).join(", ")}; change their spec.credentialSecretRef first`,
        );
      const marked = await store.requestDelete(
        request.kind,
        namespace,
        request.name,
        request.resourceVersion,
      );
      return marked ? { resource: wrap(request.kind, marked) } : {};
    },

    watch(request, context, visibleKinds?: ReadonlySet<Kind>) {
      // A cluster-scoped kind has one namespace in the store, whatever was asked.
      if (request.kind && kindInfo(request.kind).clusterScoped) request.namespace = "";
      return watch(request, context, visibleKinds);
    },

    getStatus() {
      const status = options.leadership?.() ?? {
        replica: "",
        leading: true,
        mode: "embedded" as const,
      };
      return {
        replica: status.replica,
        storeType: status.mode === "lease" ? "postgres" : "sqlite",
        storeLocation: store.location,
        resourceVersion: String(store.resourceVersion),
        leading: status.leading,
        ...(status.leader
          ? {
              leader: {
                replica: status.leader.replica,
                term: BigInt(status.leader.term),
                since: timestampFromDate(new Date(status.leader.since)),
              },
            }
          : {}),
      };
    },

    listAuditEntries(request) {
      const entries = options.auditLog?.recent(request.limit || 1000) ?? [];
      return { entries: entries.map(auditEntryMessage) };
    },

    createConsoleTicket(request, context) {
      return createConsoleTicket(store, options.consoleTickets, request, context);
    },
    async listEvents(request) {
      return {
        events: await store.listEvents({
          namespace: request.namespace,
          kind: request.kind,
          name: request.name,
          afterSequence: Number(request.afterSequence),
          limit: request.limit,
        }),
      };
    },
  };
}
