import type { Kind, WatchEventType } from "@virtrigaud/proto/manager";
import type { EventFilter, Fence } from "./store.js";

// What the store keeps in a database, whichever it is: the cached store
// (cached-store.ts) decides, a backend stores. SQLite and PostgreSQL
// implement it.

/** A resource as stored: its key and its encoded message. */
export interface StoredResource {
  kind: Kind;
  namespace: string;
  name: string;
  resourceVersion: number;
  data: Uint8Array;
}

/** A change as stored. `data` is the resource after it (before it, for a deletion). */
export interface StoredChange {
  resourceVersion: number;
  type: WatchEventType.ADDED | WatchEventType.MODIFIED | WatchEventType.DELETED;
  kind: Kind;
  namespace: string;
  name: string;
  /** PostgreSQL logs it for every change (other managers read it); SQLite for deletions only. */
  data: Uint8Array | undefined;
}

/** An event as stored. */
export interface StoredEvent {
  sequence: number;
  kind: Kind;
  namespace: string;
  name: string;
  uid: string;
  type: number;
  reason: string;
  message: string;
  firstMs: number;
  lastMs: number;
  count: number;
}

/** A new event, and how many times it happened before it was stored. */
export type NewEvent = Omit<StoredEvent, "sequence">;

/** Repeats of a stored event. */
export interface EventRepeat {
  sequence: number;
  times: number;
  lastMs: number;
}

/** Everything one write transaction stores. */
export interface WriteBatch {
  /** In resourceVersion order, consecutive from the version the write began at + 1. */
  changes: StoredChange[];
  events: NewEvent[];
  repeats: EventRepeat[];
}

/** What a write sees inside its transaction, before it decides. */
export interface WriteStart {
  /** Changes other managers committed since the version the store knew, oldest first; "expired" when too old. */
  missed: StoredChange[] | "expired";
  /** The version of the last change in the database. */
  resourceVersion: number;
  /** Whether each fence asked about still holds. */
  fences: Map<Fence, boolean>;
}

/** Pages of rows, read with `for await` (SQLite reads them synchronously, PostgreSQL not). */
type Pages<T> = AsyncIterable<T[]> | Iterable<T[]>;

/**
 * Everything a store holds, read from one consistent snapshot a page at a
 * time, so a large store never sits in memory whole. Each iterable is read at
 * most once, and only inside the `exportAll` call that gave it.
 */
export interface StoreExport {
  /** The version of the last change: a copy continues above it. */
  resourceVersion: number;
  /** Every resource, byte for byte. */
  resources: Pages<StoredResource>;
  /** Every event, oldest first, with its sequence. */
  events: Pages<StoredEvent>;
}

/** What `importAll` stored. */
export interface ImportCounts {
  resources: number;
  events: number;
  resourceVersion: number;
}

/** A database the store keeps itself in. */
export interface StoreBackend {
  /** Where it is, for people and errors: a directory, or a URL without its password. */
  readonly location: string;
  /** Everything stored, and the version of the last change. */
  load(): Promise<{ resources: StoredResource[]; resourceVersion: number }>;
  /**
   * One write transaction: takes the database's write lock, reads what others
   * changed since `knownVersion` and whether `fences` hold, lets `decide`
   * choose what to store, stores it and commits. Nothing is stored when
   * `decide` throws or returns undefined.
   *
   * @returns the sequences of the new events, in order.
   */
  write(
    knownVersion: number,
    fences: Fence[],
    decide: (start: WriteStart) => WriteBatch | undefined,
  ): Promise<number[]>;
  /** The changes after `afterVersion` up to `upToVersion`, oldest first, or "expired". */
  changesBetween(afterVersion: number, upToVersion: number): Promise<StoredChange[] | "expired">;
  /** Events, oldest first: the newest that match. */
  listEvents(filter: EventFilter): Promise<StoredEvent[]>;
  /**
   * Calls `wake` whenever another manager may have written (a notification,
   * a reconnection, or a periodic check). Absent where no one else can write.
   */
  onForeignWrites?(wake: () => void): void;
  /**
   * Reads everything from one snapshot and hands it to `use`; the snapshot
   * lasts until `use` settles. The change log is not part of it.
   */
  exportAll<T>(use: (snapshot: StoreExport) => Promise<T>): Promise<T>;
  /**
   * Stores a whole snapshot into this empty store in one transaction: every
   * resource, every event with its sequence, and the snapshot's
   * resourceVersion, so the next write is above it. Nothing is stored on failure.
   *
   * @throws ProviderError CONFLICT when this store is not empty (a resource,
   * an event, or a change was ever written).
   */
  importAll(snapshot: StoreExport): Promise<ImportCounts>;
  /** Drops changes up to a version, and events up to a sequence. Housekeeping: may fail. */
  compact(changesUpTo: number, eventsUpTo: number): Promise<void>;
  close(): Promise<void>;
}
