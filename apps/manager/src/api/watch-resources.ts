import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type Logger, ProviderError } from "@virtrigaud/contracts";
import {
  type Kind,
  type WatchRequest,
  type WatchResponse,
  WatchResponseSchema,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import { type AnyResource, kindInfo, kinds, toResource } from "../manifest/kinds.js";
import { encodeResource } from "../store/encoded-resources.js";
import { parseLabelSelector } from "../store/label-selector.js";
import { type Change, type ResourceStore, namespaceOf } from "../store/resource-store.js";
import { createAsyncQueue } from "./async-queue.js";
import { isBinary, withResourceBytes } from "./resource-bytes.js";

/** Options of `createWatch`. */
export interface WatchOptions {
  /** Time between BOOKMARK messages on an idle watch. Default: 30000 ms. */
  bookmarkIntervalMs?: number;
  /**
   * Changes a watch may hold for a client that reads slower than they come.
   * Past this, or `maxPendingBytes`, the watch drops them and ends with
   * RESOURCE_EXHAUSTED, and the client watches again from the last
   * resourceVersion it got. Default: 10000.
   */
  maxPendingEvents?: number;
  /** The same bound in bytes of the resources changed (encoded). Default: 16 MiB. */
  maxPendingBytes?: number;
  /** Ends every watch when it aborts, so a drain does not wait for them. */
  shutdown?: AbortSignal;
  /** Watches open now, kept up to date for the metric. */
  openWatches?: { count: number };
  logger?: Logger;
  /**
   * A stored resource as the watch's caller gets it (a Secret without its
   * sealed form, and without values unless the caller may read them). A
   * resource it returns other than as stored is encoded for that watch alone.
   */
  present?: (kind: Kind, message: AnyResource, context: HandlerContext) => AnyResource;
}

/** A change to send, or a bookmark at a resourceVersion. */
type Pending = { change: Change } | { bookmark: number };

function sizeOf(pending: Pending): number {
  // The stored bytes' length: near enough to the message's, and known without a copy.
  return "bookmark" in pending
    ? 16
    : encodeResource(pending.change.kind, pending.change.message).byteLength;
}

/** WatchResponse's field number of `resource`. */
const resourceField = WatchResponseSchema.field.resource.number;

/**
 * A WatchResponse for the binary protocols: the resource goes as the bytes
 * the store encoded it to (see `withResourceBytes`).
 */
function binaryResponse(change: Change): WatchResponse {
  const response = create(WatchResponseSchema, {
    type: change.type,
    resourceVersion: String(change.resourceVersion),
  });
  return withResourceBytes(response, resourceField, [change]);
}

/**
 * The Watch RPC over a store: what matches now (or the changes since a
 * resourceVersion), then every change as it is written, with bookmarks
 * while idle. Each watch holds at most a bounded backlog for its client;
 * what it holds (its subscription, its timer, its backlog) is released the
 * moment it ends, falls behind, its client goes or the server drains, even
 * while a write to a client that stopped reading is still pending.
 */
export function createWatch(store: ResourceStore, options: WatchOptions = {}) {
  const bookmarkMs = options.bookmarkIntervalMs ?? 30_000;
  const maxItems = options.maxPendingEvents ?? 10_000;
  const maxBytes = options.maxPendingBytes ?? 16 * 2 ** 20;

  return async function* watch(
    request: WatchRequest,
    context: HandlerContext,
    /** With no kind asked for, the kinds the caller may watch (authorization); default every kind. */
    visibleKinds?: ReadonlySet<Kind>,
  ): AsyncGenerator<WatchResponse> {
    const matches = parseLabelSelector(request.labelSelector);
    const from = request.resourceVersion ? Number(request.resourceVersion) : undefined;
    if (from !== undefined && !Number.isSafeInteger(from))
      throw ProviderError.invalidSpec(
        "resource_version",
        "must be a number from a List or a Watch",
      );
    const wanted = (change: { kind: Kind; message: AnyResource }) =>
      (request.kind ? change.kind === request.kind : (visibleKinds?.has(change.kind) ?? true)) &&
      (!request.namespace || namespaceOf(change.message) === request.namespace) &&
      (!request.name || change.message.metadata?.name === request.name) &&
      matches(change.message.metadata?.labels ?? {});
    const binary = isBinary(context.requestHeader);
    const toResponse = (change: Change): WatchResponse => {
      const message = options.present?.(change.kind, change.message, context) ?? change.message;
      return binary && message === change.message
        ? binaryResponse(change)
        : create(WatchResponseSchema, {
            type: change.type,
            resource: toResource(change.kind, message),
            resourceVersion: String(change.resourceVersion),
          });
    };

    // The resourceVersion of the last message handed to the client: where it resumes.
    let resumeFrom = from ?? 0;
    const queue = createAsyncQueue<Pending>({ maxItems, maxBytes, sizeOf }, () =>
      ProviderError.resourceExhausted(
        `the watch fell behind: more than ${maxItems} changes or ${maxBytes} bytes were waiting for the client to read them; watch again from resourceVersion ${resumeFrom}`,
      ),
    );
    let live = false;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      unsubscribe();
      context.signal.removeEventListener("abort", onAbort);
      options.shutdown?.removeEventListener("abort", onAbort);
      if (options.openWatches) options.openWatches.count--;
    };
    // Subscribe before reading what is there, so no change falls between.
    const unsubscribe = store.subscribe((change) => {
      if (!wanted(change) || queue.push({ change }) || !queue.overflowed) return;
      options.logger?.info(
        { resumeFrom, maxPendingEvents: maxItems, maxPendingBytes: maxBytes },
        "watch ended: its client fell behind",
      );
      release();
    });
    if (options.openWatches) options.openWatches.count++;
    // The client went or the server drains: stop now, not when the stream is next read.
    const onAbort = () => {
      release();
      queue.end();
    };
    context.signal.addEventListener("abort", onAbort);
    options.shutdown?.addEventListener("abort", onAbort);
    // A bookmark only when nothing waits: one behind a backlog says nothing new.
    const timer = setInterval(() => {
      if (live && queue.length === 0) queue.push({ bookmark: store.resourceVersion });
    }, bookmarkMs);
    if (context.signal.aborted || options.shutdown?.aborted) onAbort();
    try {
      let initial: Change[];
      // Everything up to here is in `initial`; later changes come through the subscription.
      const snapshotRv = store.resourceVersion;
      if (from === undefined) {
        initial = [];
        for (const info of request.kind ? [kindInfo(request.kind)] : kinds) {
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
        const since = await store.changesSince(from);
        if (since === "expired")
          throw ProviderError.conflict(
            `resourceVersion ${from} is too old: the manager no longer keeps changes that far back; list again and watch from its resourceVersion`,
          );
        initial = since.filter(wanted);
      }
      for (const change of initial) {
        // Fell behind already: the queue's iteration below says so.
        if (queue.overflowed) break;
        resumeFrom = Math.max(resumeFrom, change.resourceVersion);
        yield toResponse(change);
      }
      // Changes queued meanwhile that the initial messages already include.
      let sentUpTo = Math.max(resumeFrom, snapshotRv);
      live = true;
      for await (const pending of queue) {
        if ("bookmark" in pending) {
          resumeFrom = Math.max(resumeFrom, pending.bookmark);
          yield create(WatchResponseSchema, {
            type: WatchEventType.BOOKMARK,
            resourceVersion: String(pending.bookmark),
          });
          continue;
        }
        const change = pending.change;
        if (change.resourceVersion <= sentUpTo) continue;
        sentUpTo = resumeFrom = change.resourceVersion;
        yield toResponse(change);
      }
    } finally {
      release();
    }
  };
}
