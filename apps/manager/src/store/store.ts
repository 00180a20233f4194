import type {
  ApplyOutcome,
  Event,
  EventType,
  Kind,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import type { AnyResource } from "../manifest/kinds.js";

/** The status message of a kind that has one. */
export type StatusOf<T extends AnyResource> = T extends { status?: infer S } ? S : never;

/** One stored change, as watchers see it. */
export interface Change {
  type: WatchEventType.ADDED | WatchEventType.MODIFIED | WatchEventType.DELETED;
  kind: Kind;
  /** The resource after the change; before it, for DELETED. Do not mutate. */
  message: AnyResource;
  resourceVersion: number;
}

/** What an event is about and says. */
export interface EventInput {
  kind: Kind;
  namespace: string;
  name: string;
  uid?: string;
  type: EventType;
  reason: string;
  message: string;
}

/** Which events to list. */
export interface EventFilter {
  namespace?: string;
  kind?: Kind;
  name?: string;
  afterSequence?: number;
  limit?: number;
}

/**
 * The term a controller's write is fenced by: the write happens only while
 * this replica holds the controllers' lease in that term. Where only one
 * manager can open the store (SQLite), `holds` alone decides.
 */
export interface Fence {
  /** The lease's name, the replica holding it and its term. */
  lease: { name: string; holder: string; term: bigint };
  /** Whether the lease still surely holds by this replica's own clock. */
  holds(): boolean;
}

/** Options of a write. */
export interface WriteOptions {
  /** Refuse the write (ProviderError UNAVAILABLE) unless this term still leads. */
  fence?: Fence;
}

/**
 * The manager's durable state: every resource, a log of changes for
 * watches, and events. Reads come from memory; every resource is kept
 * decoded there, and kept current with what other managers on the same
 * database write. Writes resolve once they are durable, and their changes
 * reach listeners in resourceVersion order, after they are durable.
 */
export interface ResourceStore {
  /** The version of the last change this store has seen. */
  readonly resourceVersion: number;
  /** Where the store is, for people: a directory, or a URL without its password. */
  readonly location: string;
  /** A resource, or undefined. The object is the store's own: do not mutate it. */
  get(kind: Kind, namespace: string, name: string): AnyResource | undefined;
  /** Every resource of a kind, in one namespace or all. Do not mutate them. */
  list(kind: Kind, namespace?: string): AnyResource[];
  /** How many resources of a kind there are. */
  count(kind: Kind): number;
  /** Calls `listener` after every change, in version order. Returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void;
  /**
   * Creates a resource, or updates the spec, labels and annotations of an
   * existing one. The generation grows when the spec changes. Status and the
   * manager's metadata (uid, finalizers, timestamps) in `incoming` are ignored.
   *
   * @throws ProviderError CONFLICT when `metadata.resourceVersion` is set and
   * stale, or the resource is being deleted.
   */
  apply(
    kind: Kind,
    incoming: AnyResource,
    options?: { finalizers?: string[]; dryRun?: boolean } & WriteOptions,
  ): Promise<{ message: AnyResource; outcome: ApplyOutcome }>;
  /**
   * Changes a resource through `mutate` on a copy, and writes it when it
   * changed. The manager's own writes (status, finalizers, annotations) go
   * through here. Resolves to the resource as stored, or undefined when it
   * does not exist (or went: its last finalizer was removed).
   */
  update<T extends AnyResource>(
    kind: Kind,
    namespace: string,
    name: string,
    mutate: (copy: T) => void,
    options?: WriteOptions,
  ): Promise<T | undefined>;
  /**
   * Replaces a resource's status, and writes it when it changed: what
   * `update` does with a mutation that sets the status, without copying the
   * rest of the resource. The store keeps `status` as it is: do not mutate
   * it afterwards. Resolves to the resource as stored, or undefined when it
   * does not exist.
   */
  updateStatus<T extends AnyResource>(
    kind: Kind,
    namespace: string,
    name: string,
    status: NonNullable<StatusOf<T>>,
    options?: WriteOptions,
  ): Promise<T | undefined>;
  /**
   * Creates a resource the manager makes itself (a clone's VirtualMachine),
   * with its status already set.
   *
   * @throws ProviderError CONFLICT when it exists.
   */
  createOwned(
    kind: Kind,
    message: AnyResource,
    finalizers: string[],
    options?: WriteOptions,
  ): Promise<AnyResource>;
  /**
   * Asks for a resource to go: removed at once without finalizers, otherwise
   * marked with a deletion timestamp. Resolves to the marked resource, or
   * undefined when it went.
   *
   * @throws ProviderError NOT_FOUND when it does not exist; CONFLICT when
   * `resourceVersion` is set and stale.
   */
  requestDelete(
    kind: Kind,
    namespace: string,
    name: string,
    resourceVersion?: string,
    options?: WriteOptions,
  ): Promise<AnyResource | undefined>;
  /**
   * The changes after `resourceVersion` up to this store's, oldest first, or
   * "expired" when the store no longer keeps changes that old. A resource
   * that changed more than once is reported once, as it was last.
   */
  changesSince(resourceVersion: number): Promise<Change[] | "expired">;
  /**
   * Records an event, in the background (an event the store cannot take is
   * dropped). The same reason and message about the same object as its last
   * event counts as a repeat of it.
   */
  recordEvent(input: EventInput, options?: WriteOptions): void;
  /** Events, oldest first: the newest `limit` (default 500) that match. */
  listEvents(filter?: EventFilter): Promise<Event[]>;
  /** Waits for the writes and events already asked for. */
  flush(): Promise<void>;
  /** Finishes the writes asked for, then closes; another manager may then open the store. */
  close(): Promise<void>;
}
