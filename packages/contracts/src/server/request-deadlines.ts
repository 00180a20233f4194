import { constants, type ServerHttp2Stream } from "node:http2";

/** The HTTP/2 streams whose request must arrive whole in time. */
export interface RequestDeadlines {
  /** Watches `stream` until its request body has ended or `forget` is called. */
  watch(stream: ServerHttp2Stream): void;
  /** Stops watching `stream` (it has closed). */
  forget(stream: ServerHttp2Stream): void;
  /** Stops the sweep; streams still watched are left alone. */
  stop(): void;
}

/**
 * Cancels (RST_STREAM CANCEL) each HTTP/2 stream whose request has not
 * ended `timeoutMs` after it opened, checked by one timer four times per
 * timeout rather than by a timer of each stream's own: setting and clearing
 * one cost every call a timer and an 'end' listener. A stream is cancelled
 * between one and one and a quarter timeouts after it opened.
 */
export function createRequestDeadlines(timeoutMs: number): RequestDeadlines {
  const opened = new Map<ServerHttp2Stream, number>();
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = performance.now();
    for (const [stream, at] of opened) {
      if (stream.readableEnded) opened.delete(stream);
      else if (now - at >= timeoutMs) {
        opened.delete(stream);
        stream.close(constants.NGHTTP2_CANCEL);
      }
    }
    if (opened.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return {
    watch(stream) {
      opened.set(stream, performance.now());
      timer ??= setInterval(sweep, Math.max(1, timeoutMs / 4)).unref();
    },
    forget(stream) {
      opened.delete(stream);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      opened.clear();
    },
  };
}
