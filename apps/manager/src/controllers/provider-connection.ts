import type { Fence } from "../store/store.js";
import { setMaxListeners } from "node:events";
import type { LookupFunction } from "node:net";
import { ROOT_CONTEXT, context } from "@opentelemetry/api";
import {
  ErrorReason,
  type Logger,
  ProviderError,
  type Capabilities,
  type VirtualMachine as ProviderVm,
  createBackendLimiter,
  systemClock,
} from "@virtrigaud/contracts";
import {
  type ClientTlsOptions,
  type ProviderClient,
  createProviderClient,
  waitForTask,
} from "@virtrigaud/contracts/client";
import { shareTurn } from "@virtrigaud/contracts/server";
import { CircuitState } from "@virtrigaud/proto/manager";
import { type Interceptor, createContextKey, createContextValues } from "@connectrpc/connect";

/** Options of a connection to one provider. */
export interface ProviderConnectionOptions {
  /** "namespace/name" of the Provider, for messages. */
  name: string;
  endpoint: string;
  tls?: ClientTlsOptions;
  /** Resolves the endpoint's host for each new connection (the allowlist's check); default dns.lookup. */
  lookup?: LookupFunction;
  /** Calls per second; unset means no rate limit. */
  qps?: number;
  burst?: number;
  /** Calls in flight at once. Default 64. */
  concurrency?: number;
  /** Failed calls in a row (unavailable or timed out) that open the circuit. Default 3. */
  failureThreshold?: number;
  /** Called after every RPC that reached the provider, with its error (undefined for success). */
  onCall?: (method: string, error: unknown) => void;
  /**
   * Called when failing calls open the circuit. A probe's own changes of the
   * circuit are not reported: whoever probes knows, and a report that
   * queued another probe at once would probe in a loop.
   */
  onCircuitOpened?: (reason: string) => void;
  /**
   * The term this manager's controllers act in, where several managers share
   * a store: calls that change anything are refused once it may no longer
   * hold, and every call carries the term (header virtrigaud-leader-term).
   */
  fence?: Fence;
  logger: Logger;
}

/** A provider connection's calls in flight at once, unless its options say otherwise. */
export const defaultProviderCallsInFlight = 64;

/** The first wait between polls of a task; it grows by half each poll. */
const taskPollIntervalMs = 50;

/** Calls that change nothing at the provider: they need no fence. */
const readOnlyMethods = new Set(["Validate", "GetCapabilities", "Describe", "ListVMs", "GetTask"]);

/** Set on a call that is the health probe: it passes the open circuit, and its failure is not counted. */
const probing = createContextKey(false, { description: "the health probe" });

/** Failures that say the provider cannot be reached, rather than that a request was wrong. */
function isOutage(err: unknown): boolean {
  return (
    ProviderError.is(err, ErrorReason.UNAVAILABLE) ||
    ProviderError.is(err, ErrorReason.DEADLINE_EXCEEDED)
  );
}

/**
 * The manager's line to one provider: the typed client, whose calls pass a
 * circuit breaker, a rate and concurrency limiter and call counting (Connect
 * interceptors around each call, retries included); task follow-up; and the
 * paced ListVMs sweep that detects drift.
 *
 * The circuit opens after `failureThreshold` outages in a row: calls then
 * fail at once with UNAVAILABLE and never reach the provider, until a probe
 * (`probe`, the Provider controller's Validate) succeeds and closes it.
 */
export class ProviderConnection {
  /**
   * The provider's typed client. Its calls fail at once while the circuit is
   * open, wait for the limiter, are counted, and end when the connection closes.
   */
  readonly client: ProviderClient;
  readonly #limiter;
  /** Reconciles of resources on this provider running at once (`admitReconcile`). */
  readonly #reconciles;
  readonly #options: ProviderConnectionOptions;
  #failures = 0;
  #circuit: CircuitState = CircuitState.CLOSED;
  #lastError = "";
  /** Why the circuit last opened. */
  #openedFor = "";
  #closed = false;
  readonly #tasks = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  /** What GetCapabilities answered, once it has. */
  capabilities: Capabilities | undefined;
  /** RPCs sent, by method, for metrics and the benchmark. */
  readonly calls = new Map<string, number>();

  constructor(options: ProviderConnectionOptions) {
    this.#options = options;
    // Every call in flight listens to it; there is no leak to warn about.
    setMaxListeners(0, this.#abort.signal);
    const concurrency = options.concurrency ?? defaultProviderCallsInFlight;
    this.#limiter = createBackendLimiter({
      concurrency,
      ...(options.qps ? { qps: options.qps, burst: options.burst || options.qps * 2 } : {}),
    });
    this.#reconciles = createBackendLimiter({ concurrency });
    this.client = createProviderClient(options.endpoint, {
      peerName: `provider ${options.name}`,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
      retry: { maxAttempts: 3, maxBackoffMs: 1000 },
      // Closing the connection ends its calls: in flight, waiting for a slot or a retry.
      signal: this.#abort.signal,
      // The fence last, nearest the wire: a call that waited for the limiter is checked as it leaves.
      // Sharing the turn first, so it is the caller's continuation that waits.
      callInterceptors: [
        this.#sharingTurns(),
        this.#circuitBreaker(),
        this.#limit(),
        this.#counting(),
        this.#fenced(),
      ],
    });
  }

  /**
   * The CAs this manager trusts the provider's certificate by, as PEM: a
   * provider reading this one's shared exports (DiskImportPull) trusts them too.
   */
  get caPem(): string | undefined {
    return this.#options.tls?.ca?.toString();
  }

  /**
   * Runs a reconcile of a resource on this provider once fewer of them run
   * than calls may be in flight to it; the rest wait here, in order, before
   * they read and plan. A reconcile makes one call at a time, so more of
   * them at once would only wait at the call limiter holding their plans:
   * at 10,000 VMs those outlived the young generation, and copying them
   * cost the manager about a tenth of its CPU. A reconcile waiting here when
   * the connection closes ends with its reason, as a call waiting would.
   */
  admitReconcile<T>(reconcile: () => Promise<T>): Promise<T> {
    return this.#reconciles.run(reconcile, this.#abort.signal);
  }

  get circuit(): CircuitState {
    return this.#circuit;
  }

  /** Why the circuit is open. */
  get lastError(): string {
    return this.#lastError;
  }

  #setCircuit(state: CircuitState, reason: string): boolean {
    if (this.#circuit === state) return false;
    const reopened = this.#circuit === CircuitState.HALF_OPEN && state === CircuitState.OPEN;
    this.#circuit = state;
    // Half open lasts one probe, and a probe that fails as the last one did
    // says nothing new: a line for each only when debugging.
    const quiet = state === CircuitState.HALF_OPEN || (reopened && reason === this.#openedFor);
    if (state === CircuitState.OPEN) this.#openedFor = reason;
    this.#options.logger[quiet ? "debug" : "info"](
      { provider: this.#options.name, circuit: CircuitState[state], reason },
      "circuit",
    );
    return true;
  }

  #failed(err: unknown) {
    if (!isOutage(err)) {
      this.#failures = 0;
      return;
    }
    this.#failures++;
    this.#lastError = ProviderError.from(err).rawMessage;
    if (
      this.#failures >= (this.#options.failureThreshold ?? 3) &&
      this.#setCircuit(CircuitState.OPEN, this.#lastError)
    )
      this.#options.onCircuitOpened?.(this.#lastError);
  }

  /**
   * The circuit breaker: refuses a call at once while the circuit is not
   * closed (the probe passes), and counts outages in a row toward opening it
   * (the probe's are not counted; the probe decides the circuit itself).
   */
  #circuitBreaker(): Interceptor {
    return (next) => async (req) => {
      const probe = req.contextValues.get(probing);
      if (!probe && this.#circuit !== CircuitState.CLOSED) {
        throw ProviderError.unavailable(
          `provider ${this.#options.name} is unavailable (circuit open): ${this.#lastError}`,
        );
      }
      try {
        const response = await next(req);
        this.#failures = 0;
        return response;
      } catch (err) {
        if (!probe) this.#failed(err);
        throw err;
      }
    };
  }

  /**
   * What the caller does with an answer waits for a later turn of the event
   * loop when this one has run past its budget: answers arrive in bursts,
   * and what each reconcile does next would otherwise run in the turn that
   * read them (see `shareTurn`).
   */
  #sharingTurns(): Interceptor {
    return (next) => async (req) => {
      try {
        return await next(req);
      } finally {
        const turn = shareTurn();
        if (turn) await turn;
      }
    };
  }

  /**
   * The rate and concurrency limiter: a call waits for a slot, and ends when
   * the connection closes (the call's signal is the connection's, or one
   * combined with it: the client's `signal`). Its span stays a child of the
   * caller's (a reconcile), even when another call's end frees the slot it
   * waited for.
   */
  #limit(): Interceptor {
    return (next) => (req) => {
      const caller = context.active();
      return this.#limiter.run(() => context.with(caller, () => next(req)), req.signal);
    };
  }

  /** Counts the calls that got through the limiter, and reports each one's end to `onCall`. */
  #fenced(): Interceptor {
    return (next) => (req) => {
      const fence = this.#options.fence;
      if (!fence) return next(req);
      if (!readOnlyMethods.has(req.method.name) && !fence.holds())
        throw ProviderError.unavailable(
          `this manager no longer leads (lease ${fence.lease.name}, term ${fence.lease.term}); ${req.method.name} was not sent`,
        );
      req.header.set("virtrigaud-leader-term", String(fence.lease.term));
      return next(req);
    };
  }

  #counting(): Interceptor {
    return (next) => async (req) => {
      const method = req.method.localName;
      this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
      try {
        const response = await next(req);
        this.#options.onCall?.(method, undefined);
        return response;
      } catch (err) {
        this.#options.onCall?.(method, err);
        throw err;
      }
    };
  }

  /**
   * Validate, sent even while the circuit is open: the health probe. A
   * success closes the circuit; any failure opens it. The caller paces
   * probes; the client repeats one only when the provider cannot be reached
   * (at most twice, within about a second), as it does every call.
   *
   * @throws ProviderError whatever Validate throws.
   */
  async probe(): Promise<string> {
    if (this.#circuit === CircuitState.OPEN) this.#setCircuit(CircuitState.HALF_OPEN, "probing");
    try {
      const { message } = await this.client.validate(
        {},
        { contextValues: createContextValues().set(probing, true) },
      );
      this.#setCircuit(CircuitState.CLOSED, "probe succeeded");
      return message;
    } catch (err) {
      const error = ProviderError.from(err);
      this.#lastError = error.rawMessage;
      // Any failed probe keeps (or puts) the circuit open.
      this.#setCircuit(CircuitState.OPEN, this.#lastError);
      throw error;
    }
  }

  /**
   * SetCredentials, sent as part of the health probe (before Validate):
   * it passes the open circuit, and its failure is the probe's to report.
   * The data is in the request only: never logged or traced.
   *
   * @throws ProviderError whatever SetCredentials throws.
   */
  async sendCredentials(data: Record<string, Uint8Array>): Promise<void> {
    await this.client.setCredentials(
      { data },
      { contextValues: createContextValues().set(probing, true) },
    );
  }

  /**
   * Looks at a provider task once, as following it looks first: undefined
   * while it runs, else its error (undefined when it succeeded).
   *
   * @throws ProviderError whatever GetTask throws.
   */
  async lookAtTask(taskId: string): Promise<{ error: ProviderError | undefined } | undefined> {
    const { task } = await this.client.getTask({ task: { id: taskId } });
    if (!task?.done) return undefined;
    return { error: task.error ? ProviderError.fromDetail(task.error) : undefined };
  }

  /**
   * Follows a provider task in the background and calls `done` once it ends,
   * with its error when it failed. Following the same task twice follows it
   * once (both callbacks run). `looked`: the caller has just seen it running
   * (`lookAtTask`), so the first poll waits its interval.
   */
  followTask(
    taskId: string,
    done: (error: ProviderError | undefined) => void,
    { looked = false }: { looked?: boolean } = {},
  ): void {
    let running = this.#tasks.get(taskId);
    if (!running) {
      const signal = this.#abort.signal;
      const poll = () =>
        waitForTask(this.client.getTask, taskId, {
          signal,
          pollIntervalMs: taskPollIntervalMs,
          maxPollIntervalMs: 2000,
        });
      running = (looked ? systemClock.sleep(taskPollIntervalMs, signal).then(poll) : poll()).then(
        () => undefined,
        (err: unknown) => {
          throw ProviderError.from(err);
        },
      );
      this.#tasks.set(taskId, running);
      const forget = () => this.#tasks.delete(taskId);
      running.then(forget, forget);
    }
    running.then(
      () => !this.#closed && done(undefined),
      (err: ProviderError) => !this.#closed && done(err),
    );
  }

  /**
   * Lists the provider's VMs a page at a time, one page every
   * `pageIntervalMs`, for ever: the RPC rate does not depend on how many VMs
   * there are. `onSweep` gets every VM of a full pass, and when the pass started.
   */
  startSweep(
    pageIntervalMs: number,
    onSweep: (vms: ProviderVm[], startedAt: number) => void,
  ): void {
    let token = "";
    let seen: ProviderVm[] = [];
    let startedAt = Date.now();
    const tick = async () => {
      if (this.#closed) return;
      if (this.#circuit === CircuitState.CLOSED) {
        try {
          const page = await this.client.listVMs({ pageSize: 1000, pageToken: token });
          seen.push(...page.vms);
          token = page.nextPageToken;
          if (!token) {
            const done = seen;
            const started = startedAt;
            seen = [];
            startedAt = Date.now();
            onSweep(done, started);
          }
        } catch (err) {
          this.#options.logger.debug(
            { err, provider: this.#options.name },
            "drift sweep page failed",
          );
          token = "";
          seen = [];
          startedAt = Date.now();
        }
      }
      if (!this.#closed) setTimeout(() => void tick(), pageIntervalMs).unref();
    };
    // The sweep belongs to no trace: not to the reconcile that made the connection.
    setTimeout(
      context.bind(ROOT_CONTEXT, () => void tick()),
      pageIntervalMs,
    ).unref();
  }

  /** Stops tasks and sweeps, and closes the client. */
  close(): void {
    this.#closed = true;
    this.#abort.abort(ProviderError.canceled("the provider connection closed"));
    this.client.close();
  }
}
