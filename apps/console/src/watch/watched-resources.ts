import {
  type ObjectMeta,
  type Resource,
  type WatchResponse,
  WatchEventType,
} from "@virtrigaud/proto/manager";

/** A member of the Resource oneof: "vmMigration", "vmSnapshot", "provider"... */
export type ResourceCase = NonNullable<Resource["kind"]["case"]>;

/** The message a member of the Resource oneof holds. */
type ResourceMembers = {
  [M in Extract<Resource["kind"], { case: string }> as M["case"]]: M["value"];
};
export type ResourceOf<C extends ResourceCase> = ResourceMembers[C];

/** Resources of one kind by "namespace/name", as the manager last said. */
export type ResourcesByKey<C extends ResourceCase> = Map<string, ResourceOf<C>>;

export function resourceKey(message: { metadata?: ObjectMeta | undefined }): string {
  return `${message.metadata?.namespace ?? ""}/${message.metadata?.name ?? ""}`;
}

function messageOf<C extends ResourceCase>(
  oneofCase: C,
  resource: Resource | undefined,
): ResourceOf<C> | undefined {
  return resource?.kind.case === oneofCase ? (resource.kind.value as ResourceOf<C>) : undefined;
}

/** The resources of `oneofCase` in a List answer. */
export function resourcesOfList<C extends ResourceCase>(
  oneofCase: C,
  resources: readonly Resource[],
): ResourcesByKey<C> {
  const out: ResourcesByKey<C> = new Map<string, ResourceOf<C>>();
  for (const resource of resources) {
    const message = messageOf(oneofCase, resource);
    if (message) out.set(resourceKey(message), message);
  }
  return out;
}

/**
 * Applies one watch event to `resources` in place; true when it changed them
 * (a BOOKMARK, or an event about another kind, does not).
 */
export function applyResourceEvent<C extends ResourceCase>(
  oneofCase: C,
  resources: ResourcesByKey<C>,
  event: WatchResponse,
): boolean {
  const message = messageOf(oneofCase, event.resource);
  if (!message) return false;
  switch (event.type) {
    case WatchEventType.ADDED:
    case WatchEventType.MODIFIED:
      resources.set(resourceKey(message), message);
      return true;
    case WatchEventType.DELETED:
      return resources.delete(resourceKey(message));
    default:
      return false;
  }
}
