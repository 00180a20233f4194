import {
  ROOT_CONTEXT,
  type SpanContext,
  SpanStatusCode,
  type Tracer,
  context,
  trace,
} from "@opentelemetry/api";
import type { Logger } from "@virtrigaud/contracts";
import { shareTurn } from "@virtrigaud/contracts/server";

/** What a reconcile asks of the queue when it succeeds. */
export interface ReconcileResult {
  /** Run again after this long (a timer for this key only, not a poll of every key). */
  requeueAfterMs?: number;
}

/** How a reconcile ended, for metrics: `requeue` when it succeeded and asked to run again. */
export type ReconcileOutcome = "success" | "error" | "requeue";

/** Options of `createWorkQueue`. */
export interface WorkQueueOptions {
  /** For log lines. */
  name: string;
  /** Reconciles at once. */
  workers: number;
  /** Reconciles one key. A throw retries it with backoff. */
  reconcile: (key: string) => Promise<ReconcileResult | void>;
  /** The first retry delay of a failing key. Default: 200 ms. */
  baseBackoffMs?: number;
  /** The longest retry delay. Default: 60000 ms. */
  maxBackoffMs?: number;
  logger: Logger;
  /**
   * Opens a span per reconcile (`reconcile NAME`), a child of the span that
   * queued the key: the API call that stored the change, or the reconcile
   * before. Default: no spans.
   */
  tracer?: Tracer;
  /** Called after each reconcile with how it ended and how long it took, in seconds. */
  onReconciled?: (key: string, outcome: ReconcileOutcome, seconds: number) => void;
}

/** Failed runs of a key that still continue the trace that queued it; later retries start their own. */
const tracedRetries = 5;

/** The span active now, if it is a real one, for a key queued now to continue. */
function activeSpanContext(): SpanContext | undefined {
  const span = trace.getSpanContext(context.active());
  return span && trace.isSpanContextValid(span) ? span : undefined;
}

/** A work queue of keys with de-duplication, per-key exponential backoff and a fixed number of workers. */
export interface WorkQueue {
  /** Reconcile `key` soon. A key queued twice runs once; a key running is run again after. */
  add(key: string): void;
  /** Reconcile `key` after `ms`, unless it is queued sooner. */
  addAfter(key: string, ms: number): void;
  /** Keys waiting or running. */
  readonly depth: number;
  /** Resolves when nothing is queued or running (timers aside). */
  idle(): Promise<void>;
  /** Stops taking work; resolves when the running reconciles end. */
  shutdown(): Promise<void>;
}

/**
 * Creates a work queue in the manner of Kubernetes controllers: a key is
 * processed by one worker at a time; one that fails is retried after
 * base x 2^failures (with jitter, capped); a success resets its failures.
 *
 * Each key carries the W3C trace context of what queued it (the span active
 * when `add` was called), so the reconcile continues the trace of the apply
 * that caused it. A requeue at once (`requeueAfterMs: 0`) and the first
 * retries of a failure continue it too; a timed requeue (a periodic health
 * probe) starts a trace of its own, so no trace grows for ever.
 */
export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const base = options.baseBackoffMs ?? 200;
  const max = options.maxBackoffMs ?? 60_000;
  const queue: string[] = [];
  const queued = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** The trace context each queued, running or waiting key continues. */
  const parents = new Map<string, SpanContext>();
  let active = 0;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];

  const checkIdle = () => {
    if (active === 0 && queue.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  const pump = () => {
    while (!stopped && active < options.workers && queue.length) {
      const key = queue.shift() as string;
      queued.delete(key);
      active++;
      running.add(key);
      void run(key);
    }
    checkIdle();
  };

  const reconcileTraced = (key: string, parent: SpanContext | undefined) => {
    const tracer = options.tracer;
    if (!tracer) return options.reconcile(key);
    const base = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const span = tracer.startSpan(
      `reconcile ${options.name}`,
      { attributes: { "virtrigaud.queue": options.name, "virtrigaud.key": key } },
      base,
    );
    return context.with(trace.setSpan(base, span), async () => {
      try {
        const result = await options.reconcile(key);
        if (result?.requeueAfterMs !== undefined)
          span.setAttribute("virtrigaud.requeue_after_ms", result.requeueAfterMs);
        return result;
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    });
  };

  const run = async (key: string) => {
    let retryMs: number | undefined;
    const parent = parents.get(key);
    parents.delete(key);
    let next: SpanContext | undefined;
    let outcome: ReconcileOutcome | undefined;
    let started = 0;
    try {
      // A burst of keys (a commit's changes) starts over several turns of the event loop.
      const turn = shareTurn();
      if (turn) await turn;
      if (stopped) return;
      started = performance.now();
      outcome = "success";
      const result = await reconcileTraced(key, parent);
      failures.delete(key);
      if (result?.requeueAfterMs !== undefined) {
        retryMs = result.requeueAfterMs;
        outcome = "requeue";
        if (retryMs <= 0) next = parent;
      }
    } catch (err) {
      outcome = "error";
      const n = (failures.get(key) ?? 0) + 1;
      failures.set(key, n);
      const ceiling = Math.min(max, base * 2 ** (n - 1));
      retryMs = ceiling / 2 + Math.random() * (ceiling / 2);
      if (n <= tracedRetries) next = parent;
      options.logger.debug({ err, key, queue: options.name, retryMs }, "reconcile failed");
    } finally {
      if (outcome) options.onReconciled?.(key, outcome, (performance.now() - started) / 1000);
      running.delete(key);
      active--;
      if (dirty.delete(key)) enqueue(key, parents.get(key) ?? next);
      else if (retryMs !== undefined) later(key, retryMs, next);
      pump();
    }
  };

  /** Queues `key` to continue the trace `parent` (the first context a key is queued with wins). */
  const enqueue = (key: string, parent: SpanContext | undefined) => {
    if (stopped) return;
    if (parent && !parents.has(key)) parents.set(key, parent);
    const timer = timers.get(key);
    if (timer) {
      clearTimeout(timer.timer);
      timers.delete(key);
    }
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    queue.push(key);
    pump();
  };

  const later = (key: string, ms: number, parent: SpanContext | undefined) => {
    if (stopped) return;
    if (ms <= 0) return enqueue(key, parent);
    const at = Date.now() + ms;
    const existing = timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    // The timer's callback runs in no trace: the key carries its own.
    const timer = setTimeout(
      context.bind(ROOT_CONTEXT, () => {
        timers.delete(key);
        enqueue(key, parent);
      }),
      ms,
    );
    timer.unref();
    timers.set(key, { at, timer });
  };

  const add = (key: string) => enqueue(key, activeSpanContext());
  const addAfter = (key: string, ms: number) =>
    later(key, ms, ms <= 0 ? activeSpanContext() : undefined);

  return {
    add,
    addAfter,
    get depth() {
      return queue.length + active;
    },
    idle() {
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    async shutdown() {
      stopped = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      queue.length = 0;
      queued.clear();
      parents.clear();
      while (active > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}
