import type { CallOptions, VimClient } from "./client/vim-client.js";
import type { ManagedObjectReference } from "./gen/vim-types.js";
import { createContainerView, retrieveOne } from "./property-collector.js";

/** The kinds of inventory object the finder looks up. */
export type InventoryKind =
  | "datacenter"
  | "cluster"
  | "host"
  | "resourcePool"
  | "datastore"
  | "datastoreCluster"
  | "folder"
  | "network"
  | "vm"
  | "template";

/** An object found in the inventory. */
export interface InventoryItem {
  ref: ManagedObjectReference;
  /** Its inventory path, from the root folder, without a leading slash. */
  path: string;
}

/** Thrown when an inventory path names nothing of the kind asked for. */
export class InventoryNotFoundError extends Error {
  override name = "InventoryNotFoundError";
  constructor(
    readonly kind: InventoryKind,
    readonly path: string,
    message?: string,
  ) {
    super(message ?? `no ${kind} at ${JSON.stringify(path)}`);
  }
}

/** Thrown when a bare name matches several objects of the kind asked for. */
export class InventoryAmbiguousError extends Error {
  override name = "InventoryAmbiguousError";
  constructor(
    readonly kind: InventoryKind,
    readonly path: string,
    readonly matches: string[],
  ) {
    super(`${JSON.stringify(path)} names ${matches.length} objects of kind ${kind}; give a path`);
  }
}

/**
 * Escapes a name for use as one element of an inventory path, as vSphere
 * does: "%" becomes %25, "/" %2f and "\" %5c.
 */
export function escapeInventoryName(name: string): string {
  return name.replace(/%/g, "%25").replace(/\//g, "%2f").replace(/\\/g, "%5c");
}

const kinds: Record<
  InventoryKind,
  { folder: "vm" | "host" | "datastore" | "network" | undefined; types: string[] }
> = {
  datacenter: { folder: undefined, types: ["Datacenter"] },
  cluster: { folder: "host", types: ["ClusterComputeResource"] },
  host: { folder: "host", types: ["HostSystem", "ComputeResource"] },
  resourcePool: {
    folder: "host",
    types: ["ResourcePool", "VirtualApp", "ClusterComputeResource", "ComputeResource"],
  },
  datastore: { folder: "datastore", types: ["Datastore"] },
  datastoreCluster: { folder: "datastore", types: ["StoragePod"] },
  folder: { folder: "vm", types: ["Folder"] },
  network: {
    folder: "network",
    types: ["Network", "DistributedVirtualPortgroup", "OpaqueNetwork"],
  },
  vm: { folder: "vm", types: ["VirtualMachine"] },
  template: { folder: "vm", types: ["VirtualMachine"] },
};

/** Options of `createFinder`. */
export interface FinderOptions {
  /** The datacenter, by inventory path or name. Default: the only one there is. */
  datacenter?: string | undefined;
}

/**
 * Finds inventory objects by path, like govc and govmomi's finder. A path
 * starting with "/" is absolute (from the root folder). Any other path is
 * relative to the datacenter's folder for the kind: vm/ for VMs, templates
 * and folders, host/ for clusters, hosts and resource pools, datastore/ for
 * datastores and datastore clusters, network/ for networks. A bare name not
 * found there is searched for anywhere in the datacenter.
 */
export interface Finder {
  /**
   * The finder's datacenter.
   *
   * @throws InventoryNotFoundError when it does not exist, or when no
   * datacenter was named and there is not exactly one.
   */
  datacenter(options?: CallOptions): Promise<InventoryItem>;
  /**
   * Finds an object of `kind`. A cluster or standalone host given as a
   * resource pool stands for its root pool; a standalone host's compute
   * resource stands for its host.
   *
   * @throws InventoryNotFoundError, InventoryAmbiguousError.
   */
  find(kind: InventoryKind, path: string, options?: CallOptions): Promise<InventoryItem>;
  /** Like `find`, but undefined when nothing is there. */
  findOptional(
    kind: InventoryKind,
    path: string,
    options?: CallOptions,
  ): Promise<InventoryItem | undefined>;
}

/** Creates a finder. Nothing is sent until the first lookup. */
export function createFinder(client: VimClient, options: FinderOptions = {}): Finder {
  let datacenter: Promise<InventoryItem> | undefined;

  const byPath = async (path: string, callOptions: CallOptions) => {
    const { searchIndex } = await client.serviceContent(callOptions);
    if (!searchIndex) throw new Error("the server has no search index");
    return client.call<ManagedObjectReference | undefined>(
      "FindByInventoryPath",
      searchIndex,
      { inventoryPath: path },
      callOptions,
    );
  };

  /** Every object of `types` named `name` under `container`. */
  const byName = async (
    container: ManagedObjectReference,
    types: string[],
    name: string,
    callOptions: CallOptions,
  ) => {
    const view = await createContainerView(client, container, types, callOptions);
    try {
      const found: ManagedObjectReference[] = [];
      for (const type of types) {
        const objects = await view.retrieve(type, ["name"], callOptions);
        for (const o of objects) {
          if (o.propSet?.[0]?.val === name) found.push(o.obj);
        }
      }
      return found;
    } finally {
      await view.destroy().catch(() => {});
    }
  };

  /** The inventory path of an object, by walking its parents. */
  const pathOf = async (ref: ManagedObjectReference, callOptions: CallOptions) => {
    const names: string[] = [];
    let current: ManagedObjectReference | undefined = ref;
    const { rootFolder } = await client.serviceContent(callOptions);
    while (current && current.value !== rootFolder.value) {
      const values = await retrieveOne(client, current, ["name", "parent"], callOptions);
      const name = values["name"];
      names.unshift(escapeInventoryName(typeof name === "string" ? name : ""));
      current = values["parent"] as ManagedObjectReference | undefined;
    }
    return names.join("/");
  };

  const findDatacenter = async (callOptions: CallOptions): Promise<InventoryItem> => {
    const { rootFolder } = await client.serviceContent(callOptions);
    const name = options.datacenter;
    if (name) {
      const path = name.replace(/^\/+/, "");
      const ref = await byPath(path, callOptions);
      if (ref?.type === "Datacenter") return { ref, path };
      if (!path.includes("/")) {
        const found = await byName(rootFolder, ["Datacenter"], path, callOptions);
        if (found.length > 1)
          throw new InventoryAmbiguousError(
            "datacenter",
            name,
            found.map((f) => f.value),
          );
        if (found[0]) return { ref: found[0], path: await pathOf(found[0], callOptions) };
      }
      throw new InventoryNotFoundError("datacenter", name);
    }
    const view = await createContainerView(client, rootFolder, ["Datacenter"], callOptions);
    try {
      const all = await view.retrieve("Datacenter", ["name"], callOptions);
      if (all.length !== 1 || !all[0]) {
        throw new InventoryNotFoundError(
          "datacenter",
          "",
          `there are ${all.length} datacenters; name the one to use`,
        );
      }
      return { ref: all[0].obj, path: await pathOf(all[0].obj, callOptions) };
    } finally {
      await view.destroy().catch(() => {});
    }
  };

  const finder: Finder = {
    datacenter(callOptions = {}) {
      datacenter ??= findDatacenter(callOptions).catch((err: unknown) => {
        datacenter = undefined;
        throw err;
      });
      return datacenter;
    },

    async findOptional(kind, path, callOptions = {}) {
      try {
        return await finder.find(kind, path, callOptions);
      } catch (err) {
        if (err instanceof InventoryNotFoundError) return undefined;
        throw err;
      }
    },

    async find(kind, path, callOptions = {}) {
      if (kind === "datacenter") {
        const ref = await byPath(path.replace(/^\/+/, ""), callOptions);
        if (ref?.type !== "Datacenter") throw new InventoryNotFoundError(kind, path);
        return { ref, path: path.replace(/^\/+/, "") };
      }
      const { folder, types } = kinds[kind];
      const dc = await finder.datacenter(callOptions);
      const fullPath = path.startsWith("/") ? path.slice(1) : `${dc.path}/${folder}/${path}`;
      let ref = await byPath(fullPath, callOptions);
      let itemPath = fullPath;
      if (!ref && !path.includes("/")) {
        const found = await byName(dc.ref, types, path, callOptions);
        const matching: ManagedObjectReference[] = [];
        for (const candidate of found) {
          if (await fits(kind, candidate, callOptions)) matching.push(candidate);
        }
        if (matching.length > 1) {
          throw new InventoryAmbiguousError(
            kind,
            path,
            matching.map((m) => m.value),
          );
        }
        ref = matching[0];
        if (ref) itemPath = await pathOf(ref, callOptions);
      }
      if (!ref || !types.includes(ref.type)) throw new InventoryNotFoundError(kind, path);
      const resolved = await resolve(kind, ref, callOptions);
      if (!resolved) throw new InventoryNotFoundError(kind, path);
      return { ref: resolved, path: itemPath };
    },
  };

  /** Whether a VM is a template (for vm and template) as the kind needs. */
  const fits = async (kind: InventoryKind, ref: ManagedObjectReference, callOptions: CallOptions) =>
    (await resolve(kind, ref, callOptions)) !== undefined;

  const resolve = async (
    kind: InventoryKind,
    ref: ManagedObjectReference,
    callOptions: CallOptions,
  ): Promise<ManagedObjectReference | undefined> => {
    if ((kind === "vm" || kind === "template") && ref.type === "VirtualMachine") {
      const values = await retrieveOne(client, ref, ["config.template"], callOptions);
      const template = values["config.template"] === true;
      return template === (kind === "template") ? ref : undefined;
    }
    if (kind === "resourcePool" && ref.type.endsWith("ComputeResource")) {
      const values = await retrieveOne(client, ref, ["resourcePool"], callOptions);
      return values["resourcePool"] as ManagedObjectReference | undefined;
    }
    if (kind === "host" && ref.type === "ComputeResource") {
      const values = await retrieveOne(client, ref, ["host"], callOptions);
      const hosts = values["host"] as ManagedObjectReference[] | undefined;
      return hosts?.length === 1 ? hosts[0] : undefined;
    }
    if (kind === "cluster" && ref.type !== "ClusterComputeResource") return undefined;
    if (kind === "host" && ref.type !== "HostSystem") return undefined;
    return ref;
  };

  return finder;
}
