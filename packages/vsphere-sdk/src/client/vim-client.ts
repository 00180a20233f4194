import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Readable } from "node:stream";
import { type Agent, request as undiciRequest } from "undici";
import type {
  ManagedObjectReference,
  RetrieveResult,
  ServiceContent,
  UserSession,
} from "../gen/vim-types.js";
import { buildEnvelope } from "../soap/envelope.js";
import {
  InvalidLoginError,
  NotAuthenticatedError,
  VimConnectionError,
  VimFault,
  VimProtocolError,
} from "../soap/faults.js";
import { abortReason, raceSignal } from "./abort.js";
import { readAnswer } from "./read-answer.js";
import { type VimTlsOptions, createVimAgent } from "./tls.js";

/** What the client reports after each SOAP round trip. */
export interface RoundTripEvent {
  /** The vim25 method called. */
  method: string;
  /** From sending the request to reading the whole answer. */
  durationMs: number;
  /** The HTTP status; 0 when no answer came. */
  status: number;
  /** The fault type when the server answered with a fault. */
  fault?: string;
}

/** Options of `createVimClient`. */
export interface VimClientOptions {
  /** The SDK endpoint, for example `https://vcenter.example.com/sdk`. */
  url: string | URL;
  /** The user name, or a function returning it (read at each login). */
  username: string | (() => string);
  /**
   * The password, or a function returning it (read at each login, never
   * stored by the client). A function that throws fails the login with what
   * it threw: a caller without credentials yet says so.
   */
  password: string | (() => string);
  /** How the server's certificate is checked. Default: against Node's bundled root CAs. */
  tls?: VimTlsOptions;
  /** The vim25 API version requested with each call (SOAPAction). Default: "6.5". */
  apiVersion?: string;
  /** Locale of the session. Default: the server's. */
  locale?: string;
  /**
   * The User-Agent header of every request, which vCenter keeps with the
   * session (SessionManager's `sessionList`). Default: none of its own (the
   * HTTP client's).
   */
  userAgent?: string;
  /**
   * How often an idle session is kept alive with a CurrentTime call, in
   * milliseconds; 0 turns keepalive off. Default: 300000 (5 minutes; vCenter
   * expires idle sessions after 30 minutes by default).
   */
  keepAliveMs?: number;
  /**
   * After Login fails with InvalidLogin, calls fail at once with the same
   * error for this long instead of trying again, so wrong credentials cannot
   * cause a storm of logins (and lock the account). Default: 30000.
   */
  invalidLoginCooldownMs?: number;
  /** The longest a single round trip may take. Default: 300000. */
  requestTimeoutMs?: number;
  /** Connections to the server at once. Default: 8. */
  connections?: number;
  /** Called after every round trip, for metrics and tests. */
  onRoundTrip?: (event: RoundTripEvent) => void;
}

/** Options of one call. */
export interface CallOptions {
  /** Stops waiting when it aborts; the call then rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** An HTTP request beside the SOAP API (`VimClient.httpRequest`). */
export interface HttpRequestOptions {
  method: "GET" | "HEAD" | "PUT" | "DELETE";
  /** The path and query on the server, already escaped: `/folder/a%20b.vmdk?dsName=ds1`. */
  path: string;
  headers?: Record<string, string>;
  /**
   * Makes the request's body; called again when the request is retried after
   * a new login, so a stream is made anew.
   */
  body?: () => Readable | Uint8Array | string;
  signal?: AbortSignal | undefined;
}

/** The answer of `VimClient.httpRequest`: read or dump `body`, or the connection stays busy. */
export interface HttpAnswer {
  status: number;
  /** Header values by lower-case name. */
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { arrayBuffer(): Promise<ArrayBuffer>; dump(): Promise<void> };
}

/**
 * A vim25 client with one session. Every call runs in the one session: the
 * first call logs in, concurrent calls wait for that same login, a call that
 * meets NotAuthenticated (an expired or terminated session) logs in again
 * once and is retried once, and `close()` logs out.
 */
export interface VimClient {
  /** The SDK endpoint. */
  readonly url: URL;
  /** The session's details once logged in; undefined before and after. */
  readonly session: UserSession | undefined;
  /** How many times the client has logged in; changes when the session is replaced. */
  readonly sessionGeneration: number;
  /**
   * The ServiceContent (the root objects: property collector, search index,
   * view manager, ...). Read once; needs no session.
   *
   * @throws VimConnectionError when the server cannot be reached.
   */
  serviceContent(options?: CallOptions): Promise<ServiceContent>;
  /**
   * Logs in unless the session is up.
   *
   * @throws InvalidLoginError for wrong credentials (also, without asking
   * the server, during the cooldown after one).
   */
  login(options?: CallOptions): Promise<UserSession>;
  /**
   * Calls vim25 method `method` on `self` with `args` (by parameter name) in
   * the session, and returns its decoded result.
   *
   * @throws VimFault or a subclass for a SOAP fault, VimConnectionError when
   * the server cannot be reached, VimProtocolError for an unreadable answer,
   * TypeError for arguments that do not fit the method, and the signal's
   * reason when it aborts.
   */
  call<T = unknown>(
    method: string,
    self: ManagedObjectReference,
    args?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T>;
  /**
   * Sends an HTTP request to the server in the session (its cookie), through
   * the client's connections and TLS settings: for the services beside the
   * SOAP API, such as the datastore file service (`/folder`). An answer 401
   * (the session expired) logs in again once and sends the request again.
   * Any other status is the caller's to read.
   *
   * @throws VimConnectionError when the server cannot be reached, InvalidLoginError
   * when logging in fails, and the signal's reason when it aborts.
   */
  httpRequest(options: HttpRequestOptions): Promise<HttpAnswer>;
  /**
   * Forgets the session (logging it out, as a courtesy, in the background)
   * and any cooldown after a refused login, so the next call logs in anew:
   * after the credentials changed. A login under way when it is called
   * serves the calls that wait for it but does not become the session.
   */
  dropSession(): void;
  /**
   * Refuses new calls, logs out (when logged in) once the calls in flight
   * have answered (for at most 10 s), and closes the connections. Safe to
   * call twice.
   */
  close(): Promise<void>;
}

interface SessionState {
  cookie: string;
  session: UserSession;
  generation: number;
}

/** The longest a Logout waits for the calls in flight. */
const logoutQuiesceMs = 10_000;

/**
 * vcsim (and, for some objects, ESXi) answers a property retrieval in a dead
 * session with every property missing for NotAuthenticated, rather than a
 * SOAP fault; that means the session is gone just the same.
 */
function throwIfSessionGone(value: unknown): void {
  const objects = (value as RetrieveResult | undefined)?.objects;
  if (!Array.isArray(objects)) return;
  for (const object of objects) {
    for (const missing of object.missingSet ?? []) {
      const fault = missing.fault?.fault;
      if (fault?._type === "NotAuthenticated") {
        throw new NotAuthenticatedError(
          "NotAuthenticated",
          `${missing.path}: the session is not authenticated`,
          fault,
        );
      }
    }
  }
}

// A no-op until the process sets up an OpenTelemetry SDK (setupTracing).
const tracer = trace.getTracer("@virtrigaud/vsphere-sdk");

const serviceInstance: ManagedObjectReference = {
  type: "ServiceInstance",
  value: "ServiceInstance",
};
const cookieName = "vmware_soap_session";

/**
 * Creates a vim25 client. Nothing is sent until the first call.
 *
 * @throws Error when the URL is not http(s), or the TLS options are invalid
 * (a CA file that cannot be read, a malformed thumbprint).
 */
export function createVimClient(options: VimClientOptions): VimClient {
  const url = new URL(options.url);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`the vSphere URL must be https, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new Error("give the credentials as options, not in the URL");
  }
  const soapAction = `urn:vim25/${options.apiVersion ?? "6.5"}`;
  const userAgentHeader = options.userAgent;
  const keepAliveMs = options.keepAliveMs ?? 300_000;
  const cooldownMs = options.invalidLoginCooldownMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 300_000;
  const agent: Agent = createVimAgent(options.tls ?? {}, {
    connections: options.connections ?? 8,
    keepAliveTimeoutMs: 30_000,
  });

  let content: Promise<ServiceContent> | undefined;
  let pending: Promise<SessionState> | undefined;
  let active: SessionState | undefined;
  let generation = 0;
  /** Changes when the session is dropped: a login begun before does not become the session. */
  let epoch = 0;
  let blocked: { until: number; error: InvalidLoginError } | undefined;
  let closed = false;
  /** Set by close(): from then on no new calls, while it waits for those in flight. */
  let closing: Promise<void> | undefined;
  /** The SOAP calls in flight, which a Logout waits for. */
  const inFlight = new Set<Promise<unknown>>();
  let lastUsed = Date.now();

  async function roundTrip(
    method: string,
    self: ManagedObjectReference,
    args: Record<string, unknown>,
    cookie: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ value: unknown; setCookie: string[] }> {
    if (closed) throw new VimConnectionError("the client is closed");
    const body = buildEnvelope(method, self, args);
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const started = performance.now();
    let status = 0;
    let fault: string | undefined;
    // One CLIENT span per SOAP round trip, a child of the active span (the
    // provider's RPC). Its attributes name the method and the object, never
    // the arguments: Login's carry the password.
    const span = tracer.startSpan(`vim25.${method}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        "rpc.system": "vim25",
        "rpc.method": method,
        "server.address": url.hostname,
        "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)),
        "vim25.object.type": self.type,
        "vim25.object.value": self.value,
      },
    });
    let failure: unknown;
    try {
      let value: unknown;
      let setCookie: string[];
      try {
        // undici's request rather than fetch: the body is a Node stream
        // read straight from the socket, without fetch's web stream between.
        const response = await undiciRequest(url, {
          method: "POST",
          body,
          headers: {
            "content-type": "text/xml; charset=utf-8",
            soapaction: soapAction,
            ...(options.userAgent ? { "user-agent": options.userAgent } : {}),
            ...(cookie ? { cookie } : {}),
          },
          dispatcher: agent,
          signal: combined,
        });
        status = response.statusCode;
        lastUsed = Date.now();
        const cookies = response.headers["set-cookie"];
        setCookie = cookies === undefined ? [] : Array.isArray(cookies) ? cookies : [cookies];
        value = await readAnswer(method, status, response.body);
      } catch (err) {
        if (err instanceof VimFault || err instanceof VimProtocolError) throw err;
        if (signal?.aborted) throw abortReason(signal);
        if (timeout.aborted) {
          throw new VimConnectionError(`${method} got no answer in ${requestTimeoutMs} ms`, {
            cause: err,
          });
        }
        const cause = (err as { cause?: unknown }).cause ?? err;
        throw new VimConnectionError(
          `cannot reach ${url.host}: ${(cause as Error).message ?? String(cause)}`,
          { cause },
        );
      }
      if (cookie) throwIfSessionGone(value);
      return { value, setCookie };
    } catch (err) {
      failure = err;
      if (err instanceof VimFault) fault = err.faultType;
      throw err;
    } finally {
      if (status) span.setAttribute("http.response.status_code", status);
      if (fault) span.setAttribute("vim25.fault", fault);
      if (failure !== undefined) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: fault ?? (failure as Error).name ?? "error",
        });
      }
      span.end();
      options.onRoundTrip?.({
        method,
        durationMs: performance.now() - started,
        status,
        ...(fault ? { fault } : {}),
      });
    }
  }

  function serviceContent(callOptions: CallOptions = {}): Promise<ServiceContent> {
    content ??= roundTrip("RetrieveServiceContent", serviceInstance, {}, undefined, undefined).then(
      ({ value }) => value as ServiceContent,
      (err: unknown) => {
        content = undefined;
        throw err;
      },
    );
    return raceSignal(content, callOptions.signal);
  }

  async function doLogin(): Promise<SessionState> {
    const sc = await serviceContent();
    if (!sc.sessionManager) throw new VimProtocolError("the server has no session manager", 200);
    const username = typeof options.username === "function" ? options.username() : options.username;
    const password = typeof options.password === "function" ? options.password() : options.password;
    const { value, setCookie } = await roundTrip(
      "Login",
      sc.sessionManager,
      {
        userName: username,
        password,
        ...(options.locale ? { locale: options.locale } : {}),
      },
      undefined,
      undefined,
    );
    const cookie = setCookie
      .map((c) => c.split(";")[0]?.trim() ?? "")
      .find((c) => c.startsWith(`${cookieName}=`));
    if (!cookie) throw new VimProtocolError("Login answered without a session cookie", 200);
    generation++;
    return { cookie, session: value as UserSession, generation };
  }

  function ensureSession(): Promise<SessionState> {
    if (closed || closing) return Promise.reject(new VimConnectionError("the client is closed"));
    if (active) return Promise.resolve(active);
    if (blocked && Date.now() < blocked.until) return Promise.reject(blocked.error);
    const started = epoch;
    pending ??= doLogin().then(
      (state) => {
        if (started !== epoch) return state;
        pending = undefined;
        blocked = undefined;
        active = state;
        return state;
      },
      (err: unknown) => {
        if (started !== epoch) throw err;
        pending = undefined;
        if (err instanceof InvalidLoginError)
          blocked = { until: Date.now() + cooldownMs, error: err };
        throw err;
      },
    );
    return pending;
  }

  /**
   * Logs `state`'s session out once the calls in flight have answered (for
   * at most `logoutQuiesceMs`): a call cut off by its own session's Logout
   * fails on vCenter, and crashes vcsim (0.24 walks the session's objects in
   * Logout while a call of the same session adds or removes one: a
   * DestroyPropertyCollector sent as a wait ends, a CreateFilter).
   */
  function logout(state: SessionState): Promise<void> {
    return quiesce()
      .then(() => serviceContent())
      .then((sc) =>
        sc.sessionManager
          ? roundTrip("Logout", sc.sessionManager, {}, state.cookie, AbortSignal.timeout(10_000))
          : undefined,
      )
      .then(
        () => undefined,
        () => {
          // Logging out is a courtesy; the session expires on its own.
        },
      );
  }

  /** Waits until no call is in flight (calls that the awaited ones start included), for `logoutQuiesceMs` at most. */
  async function quiesce(): Promise<void> {
    const deadline = Date.now() + logoutQuiesceMs;
    while (inFlight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadline - Date.now());
        timer.unref();
      });
      await Promise.race([Promise.allSettled([...inFlight]), limit]);
      clearTimeout(timer);
    }
  }

  function dropSession(): void {
    epoch++;
    const old = active;
    active = undefined;
    pending = undefined;
    blocked = undefined;
    if (old && !closed) void logout(old);
  }

  function call<T>(
    method: string,
    self: ManagedObjectReference,
    args: Record<string, unknown> = {},
    callOptions: CallOptions = {},
  ): Promise<T> {
    const { signal } = callOptions;
    const answer = callRenewingSession<T>(method, self, args, signal);
    // Counted from the start, login included: a Logout waits for it.
    inFlight.add(answer);
    const settled = () => inFlight.delete(answer);
    answer.then(settled, settled);
    return answer;
  }

  async function callRenewingSession<T>(
    method: string,
    self: ManagedObjectReference,
    args: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    let state = await raceSignal(ensureSession(), signal);
    try {
      return (await roundTrip(method, self, args, state.cookie, signal)).value as T;
    } catch (err) {
      if (!(err instanceof NotAuthenticatedError) || closed) throw err;
      // The session expired or was terminated: log in again (once for all
      // the calls that noticed) and retry this call once.
      if (active === state) active = undefined;
      state = await raceSignal(ensureSession(), signal);
      return (await roundTrip(method, self, args, state.cookie, signal)).value as T;
    }
  }

  async function sendHttp(options: HttpRequestOptions, cookie: string): Promise<HttpAnswer> {
    if (closed) throw new VimConnectionError("the client is closed");
    const { signal } = options;
    try {
      const answer = await undiciRequest(new URL(options.path, url), {
        method: options.method,
        headers: {
          ...options.headers,
          cookie,
          ...(userAgentHeader ? { "user-agent": userAgentHeader } : {}),
        },
        ...(options.body ? { body: options.body() } : {}),
        dispatcher: agent,
        ...(signal ? { signal } : {}),
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
      lastUsed = Date.now();
      return {
        status: answer.statusCode,
        headers: answer.headers,
        body: answer.body as unknown as HttpAnswer["body"],
      };
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      throw new VimConnectionError(
        `cannot reach ${url.host} (${options.method}): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async function httpRequest(options: HttpRequestOptions): Promise<HttpAnswer> {
    const state = await raceSignal(ensureSession(), options.signal);
    const answer = await sendHttp(options, state.cookie);
    if (answer.status !== 401 || closed) return answer;
    await answer.body.dump();
    // The session expired: log in again (once for all that noticed) and retry once.
    if (active === state) active = undefined;
    const renewed = await raceSignal(ensureSession(), options.signal);
    return sendHttp(options, renewed.cookie);
  }

  const keepAlive =
    keepAliveMs > 0
      ? setInterval(() => {
          if (!active || Date.now() - lastUsed < keepAliveMs) return;
          call("CurrentTime", serviceInstance).catch(() => {
            // The next call logs in again if the session is gone.
          });
        }, keepAliveMs)
      : undefined;
  keepAlive?.unref();

  return {
    url,
    get session() {
      return active?.session;
    },
    get sessionGeneration() {
      return generation;
    },
    serviceContent,
    async login(callOptions = {}) {
      return (await raceSignal(ensureSession(), callOptions.signal)).session;
    },
    call,
    httpRequest,
    dropSession,
    close() {
      closing ??= (async () => {
        if (keepAlive) clearInterval(keepAlive);
        const state = active ?? (await pending?.catch(() => undefined));
        if (state) await logout(state);
        closed = true;
        active = undefined;
        await agent.close();
      })();
      return closing;
    },
  };
}
