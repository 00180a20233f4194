import { randomUUID } from "node:crypto";
import { type DescMessage, clone, create, equals } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ProviderError } from "@virtrigaud/contracts";
import {
  ApplyOutcome,
  type Kind,
  ObjectMetaSchema,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import { type AnyResource, type KindInfo, kindInfo, kinds } from "../manifest/kinds.js";
import type { Change, StatusOf } from "./store.js";

// What each write of the store decides, from the resource as it is and the
// request, without touching storage: the store runs these inside its write
// lock, against its state at that moment, and stores what they return.

type Meta = NonNullable<AnyResource["metadata"]>;

/** A change a plan asks for; the store gives it its resourceVersion. */
interface PlannedChange {
  type: Change["type"];
  kind: Kind;
  message: AnyResource;
}

/** What a plan decided: the value the caller gets, and the change to store, if any. */
export interface WritePlan<T> {
  result: T;
  change?: PlannedChange;
}

/** The namespace a resource is in: "default" when unset. */
export function namespaceOf(message: AnyResource): string {
  return message.metadata?.namespace || "default";
}

/** A message's members by their property names, to copy some of them. */
type Members = Record<string, unknown>;

/** Members the store keeps itself, apart from what users declare. */
const bookkeeping = new Set(["api_version", "kind", "metadata", "status"]);

/**
 * The property names of what users declare of a kind: its spec, or for a
 * Secret (shaped as Kubernetes', without one) its data and type.
 */
function declaredMembers(info: KindInfo): string[] {
  return info.schema.members.filter((m) => !bookkeeping.has(m.name)).map((m) => m.localName);
}

const declared = new Map(kinds.map((k) => [k.kind, declaredMembers(k)]));

/** A message of the kind holding only what `from` declares (shared, not copied: compare only). */
function declaredOf(schema: DescMessage, kind: Kind, from: AnyResource): AnyResource {
  const out = create(schema) as unknown as Members;
  for (const name of declared.get(kind) ?? []) out[name] = (from as unknown as Members)[name];
  return out as unknown as AnyResource;
}

/** Sets a resource's status, where its kind has one. */
function setStatus(message: AnyResource, status: unknown): void {
  if ("status" in message) (message as unknown as Members)["status"] = status;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  return ak.length === Object.keys(b).length && ak.every((k) => a[k] === b[k]);
}

/** See `ResourceStore.apply`. */
export function planApply(
  kind: Kind,
  existing: AnyResource | undefined,
  incoming: AnyResource,
  options: { finalizers?: string[]; dryRun?: boolean },
  nowMs: number,
): WritePlan<{ message: AnyResource; outcome: ApplyOutcome }> {
  const info = kindInfo(kind);
  const inMeta = incoming.metadata as Meta;
  const namespace = inMeta.namespace || "default";
  const expected = inMeta.resourceVersion;
  if (expected && existing?.metadata?.resourceVersion !== expected) {
    throw ProviderError.conflict(
      existing
        ? `${info.name} ${namespace}/${inMeta.name} is at resourceVersion ${existing.metadata?.resourceVersion}, not ${expected}: read it again and retry`
        : `${info.name} ${namespace}/${inMeta.name} does not exist, so resourceVersion ${expected} is stale`,
    );
  }
  if (!existing) {
    const message = clone(info.schema, incoming) as AnyResource;
    message.apiVersion = "";
    message.kind = "";
    setStatus(message, undefined);
    message.metadata = create(ObjectMetaSchema, {
      name: inMeta.name,
      namespace,
      labels: { ...inMeta.labels },
      annotations: { ...inMeta.annotations },
      uid: randomUUID(),
      generation: 1n,
      finalizers: options.finalizers ?? [],
      creationTimestamp: timestampFromMs(nowMs),
    });
    const result = { message, outcome: ApplyOutcome.CREATED };
    return options.dryRun
      ? { result }
      : { result, change: { type: WatchEventType.ADDED, kind, message } };
  }
  const oldMeta = existing.metadata as Meta;
  const schema = info.schema;
  const specChanged = !equals(
    schema,
    declaredOf(schema, kind, existing),
    declaredOf(schema, kind, incoming),
  );
  // A resource being deleted takes new labels and annotations (a force-delete
  // annotation, say), not a new spec.
  if (oldMeta.deletionTimestamp && specChanged) {
    throw ProviderError.conflict(
      `${info.name} ${namespace}/${inMeta.name} is being deleted; its spec cannot change (apply it again once it is gone)`,
    );
  }
  const metaChanged =
    !sameMap(oldMeta.labels, inMeta.labels) || !sameMap(oldMeta.annotations, inMeta.annotations);
  if (!specChanged && !metaChanged)
    return { result: { message: existing, outcome: ApplyOutcome.UNCHANGED } };
  const message = clone(info.schema, existing) as AnyResource;
  const meta = message.metadata as Meta;
  meta.labels = { ...inMeta.labels };
  meta.annotations = { ...inMeta.annotations };
  if (specChanged) {
    const copy = clone(schema, incoming) as unknown as Members;
    for (const name of declared.get(kind) ?? []) (message as unknown as Members)[name] = copy[name];
    meta.generation += 1n;
  }
  const result = { message, outcome: ApplyOutcome.CONFIGURED };
  return options.dryRun
    ? { result }
    : { result, change: { type: WatchEventType.MODIFIED, kind, message } };
}

/** See `ResourceStore.update`. */
export function planUpdate<T extends AnyResource>(
  kind: Kind,
  existing: AnyResource | undefined,
  mutate: (copy: T) => void,
): WritePlan<T | undefined> {
  if (!existing) return { result: undefined };
  const info = kindInfo(kind);
  const copy = clone(info.schema, existing) as T;
  mutate(copy);
  if (equals(info.schema, copy, existing)) return { result: existing as T };
  return changedTo(kind, copy);
}

/** The write of a changed `copy`: a deletion once the last finalizer went. */
function changedTo<T extends AnyResource>(kind: Kind, copy: T): WritePlan<T | undefined> {
  const meta = copy.metadata as Meta;
  if (meta.deletionTimestamp && meta.finalizers.length === 0)
    return { result: undefined, change: { type: WatchEventType.DELETED, kind, message: copy } };
  return { result: copy, change: { type: WatchEventType.MODIFIED, kind, message: copy } };
}

/**
 * See `ResourceStore.updateStatus`. The new version shares the stored one's
 * spec (stored messages are never mutated) and takes `status` as it is; only
 * the metadata is copied, since the store sets its resourceVersion.
 */
export function planUpdateStatus<T extends AnyResource>(
  kind: Kind,
  existing: AnyResource | undefined,
  status: NonNullable<StatusOf<T>>,
): WritePlan<T | undefined> {
  if (!existing) return { result: undefined };
  const info = kindInfo(kind);
  const field = info.schema.field["status"];
  if (field?.fieldKind !== "message") throw new Error(`${info.name} has no status`); // a programming error
  const before = (existing as unknown as Members)["status"] as typeof status | undefined;
  if (before && equals(field.message, before, status)) return { result: existing as T };
  const copy = {
    ...existing,
    metadata: clone(ObjectMetaSchema, existing.metadata as Meta),
    status,
  } as unknown as T;
  return changedTo(kind, copy);
}

/** See `ResourceStore.createOwned`. */
export function planCreateOwned(
  kind: Kind,
  existing: AnyResource | undefined,
  message: AnyResource,
  finalizers: string[],
  nowMs: number,
): WritePlan<AnyResource> {
  const info = kindInfo(kind);
  if (existing) throw ProviderError.conflict(`${info.name} ${message.metadata?.name} exists`);
  const { result } = planApply(kind, undefined, message, { finalizers, dryRun: true }, nowMs);
  const made = result.message;
  if ("status" in message) setStatus(made, message.status);
  return { result: made, change: { type: WatchEventType.ADDED, kind, message: made } };
}

/** See `ResourceStore.requestDelete`. */
export function planRequestDelete(
  kind: Kind,
  existing: AnyResource | undefined,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  nowMs: number,
): WritePlan<AnyResource | undefined> {
  const info = kindInfo(kind);
  if (!existing) throw ProviderError.notFound(`${info.name} ${namespace}/${name} does not exist`);
  if (resourceVersion && existing.metadata?.resourceVersion !== resourceVersion)
    throw ProviderError.conflict(
      `${info.name} ${namespace}/${name} is at resourceVersion ${existing.metadata?.resourceVersion}, not ${resourceVersion}`,
    );
  if (existing.metadata?.deletionTimestamp) return { result: existing };
  return planUpdate(kind, existing, (copy) => {
    (copy.metadata as Meta).deletionTimestamp = timestampFromMs(nowMs);
  });
}
