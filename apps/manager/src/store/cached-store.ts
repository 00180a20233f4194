import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ProviderError } from "@virtrigaud/contracts";
import {
  type ApplyOutcome,
  type Event,
  EventSchema,
  type EventType,
  type Kind,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import { type AnyResource, kindInfo, kinds } from "../manifest/kinds.js";
import { decodeResource, encodeResource } from "./encoded-resources.js";
import type {
  EventRepeat,
  NewEvent,
  StoreBackend,
  StoredChange,
  StoredResource,
  WriteStart,
} from "./backend.js";
import type {
  Change,
  EventFilter,
  EventInput,
  Fence,
  ResourceStore,
  StatusOf,
  WriteOptions,
} from "./store.js";
import {
  type WritePlan,
  namespaceOf,
  planApply,
  planCreateOwned,
  planRequestDelete,
  planUpdate,
  planUpdateStatus,
} from "./write-plans.js";

/** Options of a store. */
export interface StoreOptions {
  /** Milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
  /** Changes kept for watches to resume from. Default: 100000. */
  changesKept?: number;
  /** Events kept. Default: 50000. */
  eventsKept?: number;
}

/** Reads a resource as the write being decided sees it. */
type Read = (kind: Kind, namespace: string, name: string) => AnyResource | undefined;

/** A write waiting for its transaction. */
interface Intent {
  fence: Fence | undefined;
  plan(read: Read, nowMs: number): WritePlan<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** An event waiting for its transaction. */
interface PendingEvent {
  row: NewEvent;
  fence: Fence | undefined;
  objectKey: string;
}

/** The last event recorded about an object, to count repeats of it. */
interface LastEvent {
  reason: string;
  message: string;
  /** Set once it is stored. */
  sequence?: number;
  /** While it waits for a transaction: repeats go straight into it. */
  pending?: PendingEvent | undefined;
  /** Repeats while its transaction runs, stored once it has its sequence. */
  lateRepeats: number;
  lateLastMs: number;
}

/** The most writes one transaction takes; more wait for the next. */
const maxBatch = 2000;

/** The store's key of a resource. */
function resourceKey(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** The error of a write refused because its fence no longer holds. */
function deposedError(fence: Fence): ProviderError {
  return ProviderError.unavailable(
    `this manager no longer leads (lease ${fence.lease.name}, term ${fence.lease.term}); the write was not stored`,
  );
}

/**
 * A `ResourceStore` over a backend: every resource decoded in memory, writes
 * decided in the backend's write transaction against the state at that
 * moment (so resourceVersion checks hold across managers), batched while a
 * transaction runs, and changes other managers made read in order, on their
 * notification or with the next write.
 */
export class CachedStore implements ResourceStore {
  readonly #backend: StoreBackend;
  readonly #now: () => number;
  readonly #changesKept: number;
  readonly #eventsKept: number;
  readonly #byKind = new Map<Kind, Map<string, AnyResource>>();
  readonly #listeners = new Set<(change: Change) => void>();
  readonly #lastEvent = new Map<string, LastEvent>();
  #rv = 0;
  #lastSequence = 0;
  #writesSinceCompaction = 0;
  #intents: Intent[] = [];
  #events: PendingEvent[] = [];
  #repeats = new Map<number, EventRepeat>();
  /** Batches and catch-ups, one at a time, in order. */
  #chain: Promise<void> = Promise.resolve();
  #batchQueued = false;
  #catchUpQueued = false;
  #closed = false;
  readonly #pendingChanges: Change[] = [];
  #dispatching = false;

  private constructor(backend: StoreBackend, options: StoreOptions) {
    this.#backend = backend;
    this.#now = options.now ?? Date.now;
    this.#changesKept = options.changesKept ?? 100_000;
    this.#eventsKept = options.eventsKept ?? 50_000;
    for (const k of kinds) this.#byKind.set(k.kind, new Map());
  }

  /** Loads everything the backend holds and starts following other managers' writes. */
  static async open(backend: StoreBackend, options: StoreOptions = {}): Promise<CachedStore> {
    const store = new CachedStore(backend, options);
    const { resources, resourceVersion } = await backend.load();
    store.#fill(resources, resourceVersion);
    backend.onForeignWrites?.(() => store.#queueCatchUp());
    return store;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  get location(): string {
    return this.#backend.location;
  }

  get(kind: Kind, namespace: string, name: string): AnyResource | undefined {
    return this.#byKind.get(kind)?.get(resourceKey(kind, namespace, name));
  }

  list(kind: Kind, namespace?: string): AnyResource[] {
    const all = [...(this.#byKind.get(kind)?.values() ?? [])];
    return namespace === undefined ? all : all.filter((m) => namespaceOf(m) === namespace);
  }

  count(kind: Kind): number {
    return this.#byKind.get(kind)?.size ?? 0;
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  apply(
    kind: Kind,
    incoming: AnyResource,
    options: { finalizers?: string[]; dryRun?: boolean } & WriteOptions = {},
  ): Promise<{ message: AnyResource; outcome: ApplyOutcome }> {
    const namespace = incoming.metadata?.namespace || "default";
    const name = incoming.metadata?.name ?? "";
    const plan = (read: Read, nowMs: number) =>
      planApply(kind, read(kind, namespace, name), incoming, options, nowMs);
    // A dry run stores nothing: decided against this store's state, no transaction.
    if (options.dryRun)
      return Promise.resolve().then(
        () => plan((k, ns, n) => this.get(k, ns, n), this.#now()).result,
      );
    return this.#enqueue(options.fence, plan);
  }

  update<T extends AnyResource>(
    kind: Kind,
    namespace: string,
    name: string,
    mutate: (copy: T) => void,
    options: WriteOptions = {},
  ): Promise<T | undefined> {
    return this.#enqueue(options.fence, (read) =>
      planUpdate(kind, read(kind, namespace, name), mutate),
    );
  }

  updateStatus<T extends AnyResource>(
    kind: Kind,
    namespace: string,
    name: string,
    status: NonNullable<StatusOf<T>>,
    options: WriteOptions = {},
  ): Promise<T | undefined> {
    return this.#enqueue(options.fence, (read) =>
      planUpdateStatus<T>(kind, read(kind, namespace, name), status),
    );
  }

  createOwned(
    kind: Kind,
    message: AnyResource,
    finalizers: string[],
    options: WriteOptions = {},
  ): Promise<AnyResource> {
    return this.#enqueue(options.fence, (read, nowMs) =>
      planCreateOwned(
        kind,
        read(kind, namespaceOf(message), message.metadata?.name ?? ""),
        message,
        finalizers,
        nowMs,
      ),
    );
  }

  requestDelete(
    kind: Kind,
    namespace: string,
    name: string,
    resourceVersion?: string,
    options: WriteOptions = {},
  ): Promise<AnyResource | undefined> {
    return this.#enqueue(options.fence, (read, nowMs) =>
      planRequestDelete(kind, read(kind, namespace, name), namespace, name, resourceVersion, nowMs),
    );
  }

  async changesSince(resourceVersion: number): Promise<Change[] | "expired"> {
    const upTo = this.#rv;
    if (resourceVersion >= upTo) return [];
    const rows = await this.#backend.changesBetween(resourceVersion, upTo);
    if (rows === "expired") return "expired";
    const firstType = new Map<string, number>();
    const lastRow = new Map<string, StoredChange>();
    for (const row of rows) {
      const key = resourceKey(row.kind, row.namespace, row.name);
      if (!firstType.has(key)) firstType.set(key, row.type);
      lastRow.set(key, row);
    }
    const latest: Change[] = [];
    for (const [key, row] of lastRow) {
      if (row.type === WatchEventType.DELETED) {
        if (!row.data) continue;
        latest.push({
          type: WatchEventType.DELETED,
          kind: row.kind,
          message: decodeResource(row.kind, row.data),
          resourceVersion: row.resourceVersion,
        });
        continue;
      }
      // Changes an earlier store recorded without the resource: it as it is now.
      const message = row.data
        ? decodeResource(row.kind, row.data)
        : this.#byKind.get(row.kind)?.get(key);
      if (!message) continue;
      latest.push({
        type:
          firstType.get(key) === WatchEventType.ADDED
            ? WatchEventType.ADDED
            : WatchEventType.MODIFIED,
        kind: row.kind,
        message,
        resourceVersion: Number(message.metadata?.resourceVersion || row.resourceVersion),
      });
    }
    return latest.sort((a, b) => a.resourceVersion - b.resourceVersion);
  }

  recordEvent(input: EventInput, options: WriteOptions = {}): void {
    if (this.#closed) return;
    const objectKey = resourceKey(input.kind, input.namespace, input.name);
    const now = this.#now();
    const last = this.#lastEvent.get(objectKey);
    if (last && last.reason === input.reason && last.message === input.message) {
      if (last.pending) {
        last.pending.row.count++;
        last.pending.row.lastMs = now;
      } else if (last.sequence !== undefined) {
        const repeat = this.#repeats.get(last.sequence);
        if (repeat) {
          repeat.times++;
          repeat.lastMs = now;
        } else this.#repeats.set(last.sequence, { sequence: last.sequence, times: 1, lastMs: now });
        this.#queueBatch();
      } else {
        last.lateRepeats++;
        last.lateLastMs = now;
      }
      return;
    }
    const pending: PendingEvent = {
      row: {
        kind: input.kind,
        namespace: input.namespace,
        name: input.name,
        uid: input.uid ?? "",
        type: input.type,
        reason: input.reason,
        message: input.message,
        firstMs: now,
        lastMs: now,
        count: 1,
      },
      fence: options.fence,
      objectKey,
    };
    this.#events.push(pending);
    this.#lastEvent.set(objectKey, {
      reason: input.reason,
      message: input.message,
      pending,
      lateRepeats: 0,
      lateLastMs: 0,
    });
    this.#queueBatch();
  }

  async listEvents(filter: EventFilter = {}): Promise<Event[]> {
    const rows = await this.#backend.listEvents(filter);
    return rows.map((row) =>
      create(EventSchema, {
        sequence: BigInt(row.sequence),
        involvedObject: {
          kind: kindInfo(row.kind).name,
          namespace: row.namespace,
          name: row.name,
          uid: row.uid,
        },
        type: row.type as EventType,
        reason: row.reason,
        message: row.message,
        firstTimestamp: timestampFromMs(row.firstMs),
        lastTimestamp: timestampFromMs(row.lastMs),
        count: row.count,
      }),
    );
  }

  async flush(): Promise<void> {
    while (this.#batchQueued || this.#catchUpQueued) await this.#chain;
    await this.#chain;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#backend.close();
  }

  #enqueue<T>(fence: Fence | undefined, plan: (read: Read, nowMs: number) => WritePlan<T>) {
    if (this.#closed)
      return Promise.reject(ProviderError.unavailable("the manager's store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#intents.push({ fence, plan, resolve: resolve, reject });
      this.#queueBatch();
    });
  }

  #queueBatch(): void {
    if (this.#batchQueued) return;
    this.#batchQueued = true;
    // After this turn of the event loop: the writes every callback of the
    // turn asks for (replies of many provider calls, say) share one commit.
    this.#chain = this.#chain
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        this.#batchQueued = false;
        return this.#runBatch();
      });
  }

  #queueCatchUp(): void {
    if (this.#catchUpQueued || this.#closed) return;
    this.#catchUpQueued = true;
    this.#chain = this.#chain.then(async () => {
      this.#catchUpQueued = false;
      try {
        const missed = await this.#backend.changesBetween(this.#rv, Number.MAX_SAFE_INTEGER);
        if (missed === "expired") await this.#reload();
        else this.#takeForeign(missed);
      } catch {
        // The backend says when to try again (its reconnection wakes us).
      }
    });
  }

  async #runBatch(): Promise<void> {
    const intents = this.#intents.splice(0, maxBatch);
    if (this.#intents.length > 0) this.#queueBatch();
    const events = this.#events.splice(0);
    const repeats = [...this.#repeats.values()];
    this.#repeats.clear();
    if (intents.length === 0 && events.length === 0 && repeats.length === 0) return;
    for (const e of events) {
      const last = this.#lastEvent.get(e.objectKey);
      if (last?.pending === e) last.pending = undefined;
    }
    const fences = [
      ...new Set([...intents, ...events].map((x) => x.fence).filter((f) => f !== undefined)),
    ] as Fence[];
    let outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let changes: Change[] = [];
    let storedEvents: PendingEvent[] = [];
    let expired = false;
    let sequences: number[];
    try {
      sequences = await this.#backend.write(this.#rv, fences, (start) => {
        if (start.missed === "expired") {
          expired = true;
          return undefined;
        }
        this.#takeForeign(start.missed);
        ({ outcomes, changes } = this.#decide(intents, start));
        storedEvents = events.filter((e) => !e.fence || start.fences.get(e.fence));
        if (changes.length === 0 && storedEvents.length === 0 && repeats.length === 0)
          return undefined;
        return {
          changes: changes.map((c) => ({
            resourceVersion: c.resourceVersion,
            type: c.type,
            kind: c.kind,
            namespace: namespaceOf(c.message),
            name: c.message.metadata?.name ?? "",
            data: encodeResource(c.kind, c.message),
          })),
          events: storedEvents.map((e) => e.row),
          repeats,
        };
      });
    } catch (err) {
      for (const intent of intents) intent.reject(err);
      for (const e of events) this.#forgetEvent(e);
      return;
    }
    if (expired) {
      // Too far behind to replay: read everything again, then decide anew.
      await this.#reload().catch(() => undefined);
      this.#intents.unshift(...intents);
      this.#events.unshift(...events);
      for (const r of repeats) this.#repeats.set(r.sequence, r);
      this.#queueBatch();
      return;
    }
    for (const change of changes) this.#takeChange(change);
    storedEvents.forEach((e, i) => this.#eventStored(e, sequences[i]));
    if (storedEvents.length < events.length) {
      const stored = new Set(storedEvents);
      for (const e of events) if (!stored.has(e)) this.#forgetEvent(e);
    }
    intents.forEach((intent, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) intent.resolve(outcome.value);
      else intent.reject(outcome?.error);
    });
    this.#writesSinceCompaction += changes.length + storedEvents.length;
    if (this.#writesSinceCompaction >= 1000) {
      this.#writesSinceCompaction = 0;
      // Housekeeping: on a full disk it fails, and waits for the next thousand writes.
      await this.#backend
        .compact(this.#rv - this.#changesKept, this.#lastSequence - this.#eventsKept)
        .catch(() => undefined);
    }
  }

  /** Runs each write's plan in order, each seeing the ones before it. */
  #decide(intents: Intent[], start: WriteStart) {
    const overlay = new Map<string, AnyResource | null>();
    const read: Read = (kind, namespace, name) => {
      const key = resourceKey(kind, namespace, name);
      const mine = overlay.get(key);
      return mine === undefined ? this.get(kind, namespace, name) : (mine ?? undefined);
    };
    const nowMs = this.#now();
    let rv = start.resourceVersion;
    const changes: Change[] = [];
    const outcomes = intents.map((intent) => {
      if (intent.fence && !start.fences.get(intent.fence))
        return { ok: false as const, error: deposedError(intent.fence) };
      try {
        const { result, change } = intent.plan(read, nowMs);
        if (change) {
          rv++;
          const meta = change.message.metadata;
          if (meta) meta.resourceVersion = String(rv);
          const key = resourceKey(change.kind, namespaceOf(change.message), meta?.name ?? "");
          overlay.set(key, change.type === WatchEventType.DELETED ? null : change.message);
          changes.push({ ...change, resourceVersion: rv });
        }
        return { ok: true as const, value: result };
      } catch (error) {
        return { ok: false as const, error };
      }
    });
    return { outcomes, changes };
  }

  #eventStored(e: PendingEvent, sequence: number | undefined): void {
    if (sequence === undefined) return;
    this.#lastSequence = Math.max(this.#lastSequence, sequence);
    const last = this.#lastEvent.get(e.objectKey);
    if (!last || last.reason !== e.row.reason || last.message !== e.row.message) return;
    if (last.sequence !== undefined || last.pending) return;
    last.sequence = sequence;
    if (last.lateRepeats > 0) {
      this.#repeats.set(sequence, { sequence, times: last.lateRepeats, lastMs: last.lateLastMs });
      last.lateRepeats = 0;
      this.#queueBatch();
    }
  }

  /** An event that was not stored: its repeats start a new one. */
  #forgetEvent(e: PendingEvent): void {
    const last = this.#lastEvent.get(e.objectKey);
    if (last && last.sequence === undefined && !last.pending) this.#lastEvent.delete(e.objectKey);
  }

  /** Takes changes other managers stored, in order. */
  #takeForeign(missed: StoredChange[]): void {
    for (const row of missed) {
      if (row.resourceVersion <= this.#rv) continue;
      if (!row.data) {
        this.#rv = row.resourceVersion;
        continue;
      }
      this.#takeChange({
        type: row.type,
        kind: row.kind,
        message: decodeResource(row.kind, row.data),
        resourceVersion: row.resourceVersion,
      });
    }
  }

  /** Applies one stored change to memory and hands it to the listeners. */
  #takeChange(change: Change): void {
    const key = resourceKey(
      change.kind,
      namespaceOf(change.message),
      change.message.metadata?.name ?? "",
    );
    if (change.type === WatchEventType.DELETED) this.#byKind.get(change.kind)?.delete(key);
    else this.#byKind.get(change.kind)?.set(key, change.message);
    this.#rv = Math.max(this.#rv, change.resourceVersion);
    this.#dispatch(change);
  }

  /** Delivers changes in version order, each to every listener, never one inside another. */
  #dispatch(change: Change): void {
    this.#pendingChanges.push(change);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let c = this.#pendingChanges.shift(); c; c = this.#pendingChanges.shift())
        for (const listener of this.#listeners) listener(c);
    } finally {
      this.#dispatching = false;
    }
  }

  #fill(resources: StoredResource[], resourceVersion: number): void {
    for (const row of resources) {
      this.#byKind
        .get(row.kind)
        ?.set(resourceKey(row.kind, row.namespace, row.name), decodeResource(row.kind, row.data));
    }
    this.#rv = resourceVersion;
  }

  /**
   * Reads everything again (this store fell further behind than the change
   * log keeps) and tells listeners what differs, as changes at the new version.
   */
  async #reload(): Promise<void> {
    const { resources, resourceVersion } = await this.#backend.load();
    const seen = new Set<string>();
    const changed: Change[] = [];
    for (const row of resources) {
      const key = resourceKey(row.kind, row.namespace, row.name);
      seen.add(key);
      const before = this.#byKind.get(row.kind)?.get(key);
      if (before && Number(before.metadata?.resourceVersion) === row.resourceVersion) continue;
      changed.push({
        type: before ? WatchEventType.MODIFIED : WatchEventType.ADDED,
        kind: row.kind,
        message: decodeResource(row.kind, row.data),
        resourceVersion: row.resourceVersion,
      });
    }
    for (const [kind, byKey] of this.#byKind)
      for (const [key, message] of byKey)
        if (!seen.has(key))
          changed.push({ type: WatchEventType.DELETED, kind, message, resourceVersion });
    changed.sort((a, b) => a.resourceVersion - b.resourceVersion);
    for (const change of changed) this.#takeChange(change);
    this.#rv = resourceVersion;
  }
}
