import { type Placement, ProviderError } from "@virtrigaud/contracts";
import {
  type CallOptions,
  type Finder,
  type InventoryKind,
  InventoryAmbiguousError,
  InventoryNotFoundError,
  type ManagedObjectReference,
  type VimClient,
  createContainerView,
  retrieveMany,
  retrieveOne,
} from "@virtrigaud/vsphere-sdk";

/** The provider's default placement: inventory paths or names, each optional. */
export interface PlacementDefaults {
  cluster?: string | undefined;
  host?: string | undefined;
  resourcePool?: string | undefined;
  datastore?: string | undefined;
  datastoreCluster?: string | undefined;
  folder?: string | undefined;
}

/** Where a VM goes, resolved to vCenter objects. */
export interface ResolvedPlacement {
  folder: ManagedObjectReference;
  pool: ManagedObjectReference;
  host: ManagedObjectReference | undefined;
  /** Unset: the source's datastore for a clone, the emptiest the pool can use for a new VM. */
  datastore: { ref: ManagedObjectReference; name: string } | undefined;
}

/** Where a placement field's value came from: the request (a field path) or the defaults. */
type Source = { field: string } | { flag: string };

/**
 * Resolves a placement: each of the request's fields first, then the
 * provider's defaults. The resource pool comes from the first of: a resource
 * pool, a cluster (its root pool), a host (its compute resource's pool),
 * in the request then in the defaults, else the datacenter's first compute
 * resource. A datastore cluster stands for its member datastore with the
 * most free space (vcsim has no storage DRS to ask).
 *
 * @throws ProviderError INVALID_SPEC naming the request's field that names
 * nothing; UNAVAILABLE when a default names nothing (the provider is
 * misconfigured).
 */
export async function resolvePlacement(
  client: VimClient,
  finder: Finder,
  requested: Placement | undefined,
  defaults: PlacementDefaults,
  fieldPrefix: string,
  options: CallOptions,
): Promise<ResolvedPlacement> {
  const pick = (name: keyof PlacementDefaults, requestField: string) => {
    const fromRequest = requested?.[name];
    if (fromRequest)
      return { value: fromRequest, source: { field: `${fieldPrefix}.${requestField}` } };
    const fromDefaults = defaults[name];
    return fromDefaults
      ? { value: fromDefaults, source: { flag: `--${requestField.replaceAll("_", "-")}` } }
      : undefined;
  };
  const find = async (kind: InventoryKind, value: string, source: Source) => {
    try {
      return (await finder.find(kind, value, options)).ref;
    } catch (err) {
      if (err instanceof InventoryNotFoundError || err instanceof InventoryAmbiguousError) {
        if ("field" in source)
          throw ProviderError.invalidSpec(source.field, err.message, { cause: err });
        throw ProviderError.unavailable(`the provider's ${source.flag} is wrong: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  };
  const property = async (ref: ManagedObjectReference, path: string) =>
    (await retrieveOne(client, ref, [path], options))[path];

  const folderChoice = pick("folder", "folder");
  const folder = folderChoice
    ? await find("folder", folderChoice.value, folderChoice.source)
    : ((await property(
        (await finder.datacenter(options)).ref,
        "vmFolder",
      )) as ManagedObjectReference);

  const hostChoice = pick("host", "host");
  const host = hostChoice ? await find("host", hostChoice.value, hostChoice.source) : undefined;

  const poolFromHost = async (ref: ManagedObjectReference) =>
    (await property(
      (await property(ref, "parent")) as ManagedObjectReference,
      "resourcePool",
    )) as ManagedObjectReference;
  let pool: ManagedObjectReference | undefined;
  const requestOrder: Array<[keyof PlacementDefaults, string, InventoryKind]> = [
    ["resourcePool", "resource_pool", "resourcePool"],
    ["cluster", "cluster", "resourcePool"],
  ];
  for (const [name, field, kind] of requestOrder) {
    if (requested?.[name]) {
      pool = await find(kind, requested[name], { field: `${fieldPrefix}.${field}` });
      break;
    }
  }
  if (!pool && requested?.host && host) pool = await poolFromHost(host);
  if (!pool) {
    for (const [name, field, kind] of requestOrder) {
      const value = defaults[name];
      if (value) {
        pool = await find(kind, value, { flag: `--${field.replaceAll("_", "-")}` });
        break;
      }
    }
  }
  if (!pool && host) pool = await poolFromHost(host);
  if (!pool) {
    const dc = await finder.datacenter(options);
    const view = await createContainerView(client, dc.ref, ["ComputeResource"], options);
    try {
      const [first] = await view.retrieve("ComputeResource", ["resourcePool"], options);
      pool = first?.propSet?.[0]?.val as ManagedObjectReference | undefined;
    } finally {
      await view.destroy().catch(() => {});
    }
    if (!pool)
      throw ProviderError.unavailable("the datacenter has no cluster or host to place VMs on");
  }

  let datastore: ResolvedPlacement["datastore"];
  const dsChoice = requested?.datastore
    ? {
        kind: "datastore" as const,
        value: requested.datastore,
        source: { field: `${fieldPrefix}.datastore` },
      }
    : requested?.datastoreCluster
      ? {
          kind: "datastoreCluster" as const,
          value: requested.datastoreCluster,
          source: { field: `${fieldPrefix}.datastore_cluster` },
        }
      : defaults.datastore
        ? { kind: "datastore" as const, value: defaults.datastore, source: { flag: "--datastore" } }
        : defaults.datastoreCluster
          ? {
              kind: "datastoreCluster" as const,
              value: defaults.datastoreCluster,
              source: { flag: "--datastore-cluster" },
            }
          : undefined;
  if (dsChoice) {
    const ref = await find(dsChoice.kind, dsChoice.value, dsChoice.source);
    const members =
      dsChoice.kind === "datastoreCluster"
        ? (
            ((await property(ref, "childEntity")) as ManagedObjectReference[] | undefined) ?? []
          ).filter((m) => m.type === "Datastore")
        : [ref];
    datastore = await emptiest(client, members, options);
    if (!datastore) {
      const message = `datastore cluster ${dsChoice.value} has no accessible datastore`;
      if ("field" in dsChoice.source)
        throw ProviderError.invalidSpec(dsChoice.source.field, message);
      throw ProviderError.unavailable(
        `the provider's ${dsChoice.source.flag} is wrong: ${message}`,
      );
    }
  }
  return { folder, pool, host, datastore };
}

/** Of `datastores`, the accessible one with the most free space. */
export async function emptiest(
  client: VimClient,
  datastores: ManagedObjectReference[],
  options: CallOptions,
): Promise<{ ref: ManagedObjectReference; name: string } | undefined> {
  const found = await retrieveMany(
    client,
    datastores,
    ["name", "summary.accessible", "summary.freeSpace"],
    options,
  );
  const usable = found
    .filter((d) => d.values["summary.accessible"] !== false)
    .sort(
      (a, b) =>
        Number(b.values["summary.freeSpace"] ?? 0) - Number(a.values["summary.freeSpace"] ?? 0),
    );
  const best = usable[0];
  return best
    ? { ref: best.obj, name: typeof best.values["name"] === "string" ? best.values["name"] : "" }
    : undefined;
}

/** The datastores a resource pool's hosts can use. */
export async function datastoresOfPool(
  client: VimClient,
  pool: ManagedObjectReference,
  options: CallOptions,
): Promise<ManagedObjectReference[]> {
  const owner = (await retrieveOne(client, pool, ["owner"], options))[
    "owner"
  ] as ManagedObjectReference;
  return (
    ((await retrieveOne(client, owner, ["datastore"], options))["datastore"] as
      ManagedObjectReference[] | undefined) ?? []
  );
}

/** Where a clone's files and VM go (a VirtualMachineRelocateSpec): its pool, host and datastore. */
export function relocateSpec(placement: ResolvedPlacement): {
  pool: ManagedObjectReference;
  host?: ManagedObjectReference;
  datastore?: ManagedObjectReference;
} {
  return {
    pool: placement.pool,
    ...(placement.host ? { host: placement.host } : {}),
    ...(placement.datastore ? { datastore: placement.datastore.ref } : {}),
  };
}

/**
 * True when a request's placement names anything: a string field with a
 * value. A Placement that is set but empty names nothing, so the clone goes
 * where its source is.
 */
export function namesPlacement(placement: Placement | undefined): boolean {
  return Object.entries(placement ?? {}).some(
    ([field, value]) => field !== "$typeName" && typeof value === "string" && value !== "",
  );
}

/**
 * A clone's placement when its request names none: the source's folder and
 * resource pool, each from `fallback` (the provider's defaults, asked only
 * when needed) when the source has none; host and datastore are left to
 * vSphere (the source's datastore).
 */
export async function sourcePlacement(
  source: { parent?: ManagedObjectReference; resourcePool?: ManagedObjectReference },
  fallback: () => Promise<ResolvedPlacement>,
): Promise<ResolvedPlacement> {
  return {
    folder: source.parent ?? (await fallback()).folder,
    pool: source.resourcePool ?? (await fallback()).pool,
    host: undefined,
    datastore: undefined,
  };
}
