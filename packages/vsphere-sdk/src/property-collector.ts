import type { CallOptions, VimClient } from "./client/vim-client.js";
import type {
  ManagedObjectReference,
  ObjectContent,
  PropertyFilterSpec,
  PropertySpec,
  RetrieveResult,
  TraversalSpec,
  UpdateSet,
} from "./gen/vim-types.js";

/** Options of a retrieval. */
export interface RetrieveOptions extends CallOptions {
  /**
   * Objects per answer; the rest come with ContinueRetrievePropertiesEx.
   * Default: the server's (vCenter pages at its own limit).
   */
  maxObjects?: number;
}

/**
 * Retrieves properties with RetrievePropertiesEx and follows its
 * continuation tokens (ContinueRetrievePropertiesEx) until every object is
 * read. One round trip per page.
 *
 * @throws VimFault for a fault (ManagedObjectNotFound when an object named
 * directly is gone, InvalidProperty for a bad path).
 */
export async function retrieveProperties(
  client: VimClient,
  specSet: PropertyFilterSpec[],
  options: RetrieveOptions = {},
): Promise<ObjectContent[]> {
  const { propertyCollector } = await client.serviceContent(options);
  const callOptions = { signal: options.signal };
  let result = await client.call<RetrieveResult | undefined>(
    "RetrievePropertiesEx",
    propertyCollector,
    {
      specSet,
      options: {
        _type: "RetrieveOptions",
        ...(options.maxObjects ? { maxObjects: options.maxObjects } : {}),
      },
    },
    callOptions,
  );
  const objects: ObjectContent[] = [];
  while (result) {
    objects.push(...(result.objects ?? []));
    if (!result.token) break;
    result = await client.call<RetrieveResult | undefined>(
      "ContinueRetrievePropertiesEx",
      propertyCollector,
      { token: result.token },
      callOptions,
    );
  }
  return objects;
}

/** The properties of one object, by property path. */
export type PropertyValues = Record<string, unknown>;

/** Turns an ObjectContent into its properties by path. */
export function propertiesOf(content: ObjectContent): PropertyValues {
  const values: PropertyValues = {};
  for (const property of content.propSet ?? []) values[property.name] = property.val;
  return values;
}

/**
 * Reads `paths` of one object in one round trip.
 *
 * @throws ManagedObjectNotFoundError when the object does not exist.
 */
export async function retrieveOne(
  client: VimClient,
  obj: ManagedObjectReference,
  paths: string[],
  options: CallOptions = {},
): Promise<PropertyValues> {
  const [content] = await retrieveProperties(
    client,
    [
      {
        propSet: [{ type: obj.type, pathSet: paths }],
        objectSet: [{ obj }],
      },
    ],
    options,
  );
  return content ? propertiesOf(content) : {};
}

/**
 * Reads `paths` of several objects of one type in one round trip. Objects
 * that no longer exist are left out.
 */
export async function retrieveMany(
  client: VimClient,
  objs: ManagedObjectReference[],
  paths: string[],
  options: RetrieveOptions = {},
): Promise<Array<{ obj: ManagedObjectReference; values: PropertyValues }>> {
  if (objs.length === 0) return [];
  const types = [...new Set(objs.map((o) => o.type))];
  const contents = await retrieveProperties(
    client,
    [
      {
        propSet: types.map((type) => ({ type, pathSet: paths })),
        objectSet: objs.map((obj) => ({ obj })),
        reportMissingObjectsInResults: true,
      },
    ],
    options,
  );
  return contents.map((c) => ({ obj: c.obj, values: propertiesOf(c) }));
}

/** A ContainerView: the objects of some types under a container, kept current by the server. */
export interface ContainerView {
  readonly ref: ManagedObjectReference;
  /**
   * Reads `paths` of every object in the view of `type` (one round trip per
   * page of results).
   */
  retrieve(type: string, paths: string[], options?: RetrieveOptions): Promise<ObjectContent[]>;
  /**
   * Reads, for each spec, its `pathSet` of every object in the view of its
   * `type`: several types in one retrieval (one round trip per page of results).
   */
  retrieveTypes(propSet: PropertySpec[], options?: RetrieveOptions): Promise<ObjectContent[]>;
  /** Destroys the view on the server. */
  destroy(options?: CallOptions): Promise<void>;
}

/**
 * Creates a ContainerView of the objects of `types` under `container`
 * (recursively by default) with the ViewManager.
 */
export async function createContainerView(
  client: VimClient,
  container: ManagedObjectReference,
  types: string[],
  options: CallOptions & { recursive?: boolean } = {},
): Promise<ContainerView> {
  const { viewManager } = await client.serviceContent(options);
  if (!viewManager) throw new Error("the server has no view manager");
  const ref = await client.call<ManagedObjectReference>(
    "CreateContainerView",
    viewManager,
    { container, type: types, recursive: options.recursive ?? true },
    { signal: options.signal },
  );
  return containerView(client, ref);
}

const viewTraversal: TraversalSpec = {
  _type: "TraversalSpec",
  name: "view",
  type: "ContainerView",
  path: "view",
  skip: false,
};

/** Wraps an existing ContainerView reference. */
export function containerView(client: VimClient, ref: ManagedObjectReference): ContainerView {
  const retrieveTypes = (propSet: PropertySpec[], retrieveOptions: RetrieveOptions = {}) =>
    retrieveProperties(
      client,
      [{ propSet, objectSet: [{ obj: ref, skip: true, selectSet: [viewTraversal] }] }],
      retrieveOptions,
    );
  return {
    ref,
    retrieve: (type, paths, retrieveOptions) =>
      retrieveTypes([{ type, pathSet: paths }], retrieveOptions),
    retrieveTypes,
    async destroy(callOptions = {}) {
      await client.call("DestroyView", ref, {}, callOptions);
    },
  };
}

/** Options of `waitForUpdates`. */
export interface WaitForUpdatesOptions extends CallOptions {
  /** Seconds the server holds each WaitForUpdatesEx before answering empty. Default: 60. */
  maxWaitSeconds?: number;
}

/**
 * Watches `paths` of `obj` with a property collector of its own (so
 * concurrent waits do not disturb each other): calls `onChange` with the
 * current values, then after every change, until `onChange` returns true.
 * Each change costs one WaitForUpdatesEx round trip; nothing polls.
 *
 * @throws ManagedObjectNotFoundError when `obj` does not exist; the
 * signal's reason when it aborts (the wait is then cancelled on the server).
 */
export async function waitForUpdates(
  client: VimClient,
  obj: ManagedObjectReference,
  paths: string[],
  onChange: (values: Record<string, unknown>) => boolean,
  options: WaitForUpdatesOptions = {},
): Promise<void> {
  const { propertyCollector } = await client.serviceContent(options);
  const { signal } = options;
  for (;;) {
    const generation = client.sessionGeneration;
    const collector = await client.call<ManagedObjectReference>(
      "CreatePropertyCollector",
      propertyCollector,
      {},
      { signal },
    );
    const onAbort = () => {
      client.call("CancelWaitForUpdates", collector).catch(() => {});
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await client.call(
        "CreateFilter",
        collector,
        {
          spec: { propSet: [{ type: obj.type, pathSet: paths }], objectSet: [{ obj }] },
          partialUpdates: false,
        },
        { signal },
      );
      const values: Record<string, unknown> = {};
      let version = "";
      for (;;) {
        const update = await client.call<UpdateSet | undefined>(
          "WaitForUpdatesEx",
          collector,
          { version, options: { maxWaitSeconds: options.maxWaitSeconds ?? 60 } },
          { signal },
        );
        if (!update) continue;
        version = update.version;
        for (const filter of update.filterSet ?? []) {
          for (const object of filter.objectSet ?? []) {
            if (object.kind === "leave") {
              throw new Error(`${obj.type} ${obj.value} went away while being watched`);
            }
            for (const change of object.changeSet ?? [])
              applyChange(values, change.name, change.op, change.val);
          }
        }
        if (onChange(values)) return;
      }
    } catch (err) {
      // A new session (after a re-login) has no collector of the old one: start over.
      if (
        client.sessionGeneration !== generation &&
        !signal?.aborted &&
        isManagedObjectNotFound(err)
      )
        continue;
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (client.sessionGeneration === generation) {
        client.call("DestroyPropertyCollector", collector).catch(() => {});
      }
    }
  }
}

function isManagedObjectNotFound(err: unknown): boolean {
  return (err as { faultType?: unknown }).faultType === "ManagedObjectNotFound";
}

/** Applies a PropertyChange to the watched values, also for nested paths ("info.state"). */
function applyChange(
  values: Record<string, unknown>,
  name: string,
  op: string,
  val: unknown,
): void {
  const top = Object.keys(values).find((key) => name.startsWith(`${key}.`));
  if (top && op !== "remove") {
    let target = values[top] as Record<string, unknown>;
    const rest = name.slice(top.length + 1).split(".");
    for (const part of rest.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>;
    const last = rest.at(-1);
    if (last !== undefined) target[last] = val;
    return;
  }
  if (op === "remove" || op === "indirectRemove") delete values[name];
  else values[name] = val;
}
