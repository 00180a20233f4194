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
import type { Change } from "./store.js";

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

function specSchema(info: KindInfo): DescMessage {
  const field = info.schema.fields.find((f) => f.name === "spec");
  if (field?.fieldKind !== "message") throw new Error(`${info.name} has no spec`);
  return field.message;
}

const specSchemas = new Map(kinds.map((k) => [k.kind, specSchema(k)]));

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
    message.status = undefined;
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
  const schema = specSchemas.get(kind) as DescMessage;
  const specChanged = !equals(schema, existing.spec as never, incoming.spec as never);
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
    message.spec = clone(schema, incoming.spec as never) as never;
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
  const meta = copy.metadata as Meta;
  if (meta.deletionTimestamp && meta.finalizers.length === 0)
    return { result: undefined, change: { type: WatchEventType.DELETED, kind, message: copy } };
  return { result: copy, change: { type: WatchEventType.MODIFIED, kind, message: copy } };
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
  made.status = message.status;
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
