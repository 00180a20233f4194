import type { ServerResponse } from "node:http";
import { type Http2ServerResponse, type ServerHttp2Stream, constants } from "node:http2";
import type { UniversalServerResponse } from "@connectrpc/connect/protocol";
import { shareTurn } from "./turn-budget.js";

/** A Node response of either server. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** Why a response was not delivered. */
export class ResponseNotDelivered extends Error {
  override name = "ResponseNotDelivered";
  constructor(
    message: string,
    /** True when the client stopped reading and the response was abandoned. */
    readonly stalled = false,
  ) {
    super(message);
  }
}

/** Drops a response: resets its HTTP/2 stream (CANCEL), or closes its HTTP/1.1 connection. */
function abandon(response: NodeResponse): void {
  if ("stream" in response) response.stream.close(constants.NGHTTP2_CANCEL);
  else response.destroy();
}

/** Bytes of this response queued in the process, not yet handed to the network. */
function queuedBytes(response: NodeResponse): number {
  return "stream" in response ? response.stream.writableLength : response.writableLength;
}

/** A response waiting to flush, and what to do if no byte of it leaves for its stall time. */
interface FlushWatch {
  readonly response: NodeResponse;
  queued: number;
  /** When the sweep last saw its queue shrink (or when the wait began). */
  progressAt: number;
  readonly stalled: () => void;
}

/**
 * The responses waiting to flush, by stall time, each set swept by one timer
 * four times per stall time: a timer of its own for every response cost each
 * call a timer set and cleared. A timer with nothing left to watch stops.
 */
const flushWatches = new Map<number, Set<FlushWatch>>();

function sweep(stallMs: number, watches: Set<FlushWatch>, timer: NodeJS.Timeout): void {
  if (watches.size === 0) {
    clearInterval(timer);
    flushWatches.delete(stallMs);
    return;
  }
  const now = performance.now();
  for (const watch of watches) {
    const queued = queuedBytes(watch.response);
    if (queued < watch.queued) {
      watch.queued = queued;
      watch.progressAt = now;
    } else if (now - watch.progressAt >= stallMs) {
      watch.stalled();
    }
  }
}

/** Watches `watch` until the returned function is called. */
function watchFlush(stallMs: number, watch: FlushWatch): () => void {
  let watches = flushWatches.get(stallMs);
  if (!watches) {
    const created = new Set<FlushWatch>();
    const timer: NodeJS.Timeout = setInterval(
      () => sweep(stallMs, created, timer),
      Math.max(1, stallMs / 4),
    ).unref();
    flushWatches.set(stallMs, created);
    watches = created;
  }
  const set = watches;
  set.add(watch);
  return () => set.delete(watch);
}

/**
 * Waits until `response` no longer asks the writer to wait ('drain', or
 * 'finish' after end), failing when the connection closes first or when no
 * queued byte leaves for `stallMs`; a stalled response is then abandoned.
 */
function flushed(
  response: NodeResponse,
  event: "drain" | "finish",
  stallMs: number,
): Promise<void> {
  const emitter = event === "finish" && "stream" in response ? response.stream : response;
  return new Promise((resolve, reject) => {
    if (closedResponses.has(response)) {
      reject(new ResponseNotDelivered("the connection closed"));
      return;
    }
    const unwatch = watchFlush(stallMs, {
      response,
      queued: queuedBytes(response),
      progressAt: performance.now(),
      stalled: () => {
        settle(
          new ResponseNotDelivered(
            `the client read nothing for ${stallMs} ms; response abandoned`,
            true,
          ),
        );
        abandon(response);
      },
    });
    const done = () => settle(undefined);
    const closed = () => settle(new ResponseNotDelivered("the connection closed"));
    const failed = (err: Error) => settle(err);
    function settle(error: Error | undefined) {
      unwatch();
      emitter.off(event, done);
      response.off("close", closed);
      response.off("error", failed);
      if (error) reject(error);
      else resolve();
    }
    emitter.once(event, done);
    response.once("close", closed);
    response.once("error", failed);
  });
}

/** Responses whose 'close' came (it does not repeat for a late listener). */
const closedResponses = new WeakSet<NodeResponse>();
const watched = new WeakSet<NodeResponse>();

/**
 * Notes when `response` closes. Call it as the request arrives: the client
 * may go while the handler works, before anything is written.
 */
export function watchClose(response: NodeResponse): void {
  if (watched.has(response)) return;
  watched.add(response);
  response.once("close", () => closedResponses.add(response));
}

/**
 * An HTTP/2 request answered before it was read to its end (refused as too
 * large, say): once the response's END_STREAM has gone, a RST_STREAM with
 * NO_ERROR tells the client to stop sending (RFC 9113, 8.1), or it sends on
 * into a stream nobody reads. Node has no event for that END_STREAM (the
 * trailers follow the stream's 'finish'), so this looks for a short while.
 */
function stopUnreadRequest(stream: ServerHttp2Stream, tries = 100): void {
  if (stream.closed || stream.destroyed || stream.readableEnded) return;
  if (stream.state.localClose) stream.close(constants.NGHTTP2_NO_ERROR);
  else if (tries > 0) setTimeout(() => stopUnreadRequest(stream, tries - 1), 10).unref();
}

function nodeHeaders(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, key) => (out[key] = value));
  return out;
}

/**
 * Writes a Connect response to a Node response, as connect-node's
 * `universalResponseToNodeResponse` does, with two differences that matter
 * to server streams: a connection that closes fails the write at once
 * (connect-node waits for a 'drain' that never comes, so a stream's
 * generator never finishes and never releases what it holds), and a
 * response whose client stops reading is abandoned after `stallMs` without
 * progress. Either way the body's iterator is thrown into and returned, so
 * the handler's `finally` runs. A stream's messages after its first wait
 * for a later turn of the event loop when this one has run past its budget
 * (`shareTurn`).
 *
 * @throws ResponseNotDelivered (rejects) when the response could not be sent.
 */
export async function writeResponse(
  universal: UniversalServerResponse,
  response: NodeResponse,
  stallMs: number,
): Promise<void> {
  watchClose(response);
  const it = universal.body?.[Symbol.asyncIterator]();
  let writing = false;
  try {
    if (it) {
      let chunk = await it.next();
      writing = true;
      // Headers after the first chunk, so the handler has had its chance to set them.
      response.writeHead(universal.status, nodeHeaders(universal.header));
      for (let first = true; chunk.done !== true; chunk = await it.next(), first = false) {
        writing = true;
        // A stream's later messages share the event loop (see turnBudgetMs).
        const turn = first ? undefined : shareTurn();
        if (turn) await turn;
        if (closedResponses.has(response)) throw new ResponseNotDelivered("the connection closed");
        if (!(response as ServerResponse).write(chunk.value))
          await flushed(response, "drain", stallMs);
        writing = false;
      }
    }
    writing = true;
    if (!response.headersSent) response.writeHead(universal.status, nodeHeaders(universal.header));
    if (universal.trailer) response.addTrailers(nodeHeaders(universal.trailer));
    // An HTTP/2 response says 'finish' only when its stream closes; its stream's
    // own 'finish' is the end of what the response writes.
    const finished = flushed(response, "finish", stallMs);
    response.end();
    await finished;
    if ("stream" in response) stopUnreadRequest(response.stream);
  } catch (err) {
    // Tell the handler its response failed, so a stream stops where it is.
    if (writing) it?.throw?.(err).catch(() => {});
    throw err;
  } finally {
    it?.return?.().catch(() => {});
  }
}
