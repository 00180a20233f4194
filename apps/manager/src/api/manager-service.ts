import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { ProviderError } from "@virtrigaud/contracts";
import {
  Kind,
  type ManagerService,
  type Resource,
  type WatchRequest,
  type WatchResponse,
  WatchResponseSchema,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import { vmsReferring } from "../controllers/references.js";
import { type AnyResource, fromResource, kindInfo, toResource } from "../manifest/kinds.js";
import { parseLabelSelector } from "../store/label-selector.js";
import { type Change, type ResourceStore, namespaceOf } from "../store/resource-store.js";
import { createAsyncQueue } from "./async-queue.js";
import { validateResource } from "./validate-resource.js";

/** The finalizer the manager puts on VirtualMachines: the VM goes at the provider first. */
export const vmFinalizer = "virtrigaud.io/vm-cleanup";
/** The finalizer on VMSnapshots: the snapshot goes at the provider first. */
export const snapshotFinalizer = "virtrigaud.io/snapshot-cleanup";

const defaultFinalizers: Partial<Record<Kind, string[]>> = {
  [Kind.VIRTUAL_MACHINE]: [vmFinalizer],
  [Kind.VM_SNAPSHOT]: [snapshotFinalizer],
};

/** Kinds whose deletion is refused while VirtualMachines refer to them. */
const referenced = new Set([
  Kind.PROVIDER,
  Kind.VM_CLASS,
  Kind.VM_IMAGE,
  Kind.VM_NETWORK_ATTACHMENT,
]);

/** Options of `createManagerService`. */
export interface ManagerServiceOptions {
  /** Time between BOOKMARK messages on an idle watch. Default: 30000 ms. */
  bookmarkIntervalMs?: number;
  /** Ends every watch when it aborts, so a drain does not wait for them. */
  shutdown?: AbortSignal;
}

function wrap(kind: Kind, message: AnyResource): Resource {
  return toResource(kind, message);
}

/**
 * The ManagerService implementation over a store: apply with validation and
 * optimistic concurrency, get, list by labels, delete with in-use checks,
 * resumable watches, and events.
 */
export function createManagerService(
  store: ResourceStore,
  options: ManagerServiceOptions = {},
): Partial<ServiceImpl<typeof ManagerService>> {
  const bookmarkMs = options.bookmarkIntervalMs ?? 30_000;
  return {
    apply(request) {
      const inner = fromResource(request.resource);
      if (!inner) throw ProviderError.invalidSpec("resource", "is required");
      const { info, message } = inner;
      const namespace = namespaceOf(message);
      const existing = store.get(info.kind, namespace, message.metadata?.name ?? "");
      validateResource(info.kind, message, existing);
      const result = store.apply(info.kind, message, {
        finalizers: defaultFinalizers[info.kind] ?? [],
        dryRun: request.dryRun,
      });
      return { resource: wrap(info.kind, result.message), outcome: result.outcome };
    },

    get(request) {
      const info = kindInfo(request.kind);
      const namespace = request.namespace || "default";
      const message = store.get(request.kind, namespace, request.name);
      if (!message)
        throw ProviderError.notFound(`${info.name} ${namespace}/${request.name} does not exist`);
      return { resource: wrap(request.kind, message) };
    },

    list(request) {
      const matches = parseLabelSelector(request.labelSelector);
      const namespace = request.allNamespaces ? undefined : request.namespace || "default";
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
      return { resources: items.map((m) => wrap(request.kind, m)), resourceVersion };
    },

    delete(request) {
      const info = kindInfo(request.kind);
      const namespace = request.namespace || "default";
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
      const marked = store.requestDelete(
        request.kind,
        namespace,
        request.name,
        request.resourceVersion,
      );
      return marked ? { resource: wrap(request.kind, marked) } : {};
    },

    watch,

    listEvents(request) {
      return {
        events: store.listEvents({
          namespace: request.namespace,
          kind: request.kind,
          name: request.name,
          afterSequence: Number(request.afterSequence),
          limit: request.limit,
        }),
      };
    },
  };

  async function* watch(
    request: WatchRequest,
    context: { signal: AbortSignal },
  ): AsyncGenerator<WatchResponse> {
    const matches = parseLabelSelector(request.labelSelector);
    const wanted = (change: { kind: Kind; message: AnyResource }) =>
      (!request.kind || change.kind === request.kind) &&
      (!request.namespace || namespaceOf(change.message) === request.namespace) &&
      (!request.name || change.message.metadata?.name === request.name) &&
      matches(change.message.metadata?.labels ?? {});
    const queue = createAsyncQueue<WatchResponse>();
    const toResponse = (change: Change): WatchResponse =>
      create(WatchResponseSchema, {
        type: change.type,
        resource: wrap(change.kind, change.message),
        resourceVersion: String(change.resourceVersion),
      });
    // Subscribe before reading what is there, so no change falls between.
    let sentUpTo = 0;
    const backlog: Change[] = [];
    let live = false;
    const unsubscribe = store.subscribe((change) => {
      if (!wanted(change)) return;
      if (!live) backlog.push(change);
      else if (change.resourceVersion > sentUpTo) {
        sentUpTo = change.resourceVersion;
        queue.push(toResponse(change));
      }
    });
    const onAbort = () => queue.end();
    context.signal.addEventListener("abort", onAbort);
    options.shutdown?.addEventListener("abort", onAbort);
    const timer = setInterval(() => {
      queue.push(
        create(WatchResponseSchema, {
          type: WatchEventType.BOOKMARK,
          resourceVersion: String(store.resourceVersion),
        }),
      );
    }, bookmarkMs);
    try {
      const from = request.resourceVersion ? Number(request.resourceVersion) : undefined;
      if (from !== undefined && !Number.isSafeInteger(from))
        throw ProviderError.invalidSpec(
          "resource_version",
          "must be a number from a List or a Watch",
        );
      let initial: Change[];
      // Everything up to here is in `initial`; later changes come through the subscription.
      const snapshotRv = store.resourceVersion;
      if (from === undefined) {
        initial = [];
        for (const info of request.kind ? [kindInfo(request.kind)] : kindsInOrder()) {
          for (const message of store.list(info.kind)) {
            const change: Change = {
              type: WatchEventType.ADDED,
              kind: info.kind,
              message,
              resourceVersion: Number(message.metadata?.resourceVersion ?? 0),
            };
            if (wanted(change)) initial.push(change);
          }
        }
        initial.sort((a, b) => a.resourceVersion - b.resourceVersion);
      } else {
        const since = store.changesSince(from);
        if (since === "expired")
          throw ProviderError.conflict(
            `resourceVersion ${from} is too old: the manager no longer keeps changes that far back; list again and watch from its resourceVersion`,
          );
        initial = since.filter(wanted);
      }
      sentUpTo = from ?? 0;
      for (const change of initial) {
        sentUpTo = Math.max(sentUpTo, change.resourceVersion);
        yield toResponse(change);
      }
      sentUpTo = Math.max(sentUpTo, snapshotRv);
      for (const change of backlog) {
        if (change.resourceVersion > sentUpTo) {
          sentUpTo = change.resourceVersion;
          yield toResponse(change);
        }
      }
      live = true;
      yield* queue;
    } finally {
      clearInterval(timer);
      unsubscribe();
      context.signal.removeEventListener("abort", onAbort);
      options.shutdown?.removeEventListener("abort", onAbort);
    }
  }
}

function kindsInOrder() {
  return [
    Kind.PROVIDER,
    Kind.VM_CLASS,
    Kind.VM_IMAGE,
    Kind.VM_NETWORK_ATTACHMENT,
    Kind.VIRTUAL_MACHINE,
    Kind.VM_SNAPSHOT,
    Kind.VM_CLONE,
  ].map(kindInfo);
}
