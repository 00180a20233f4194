import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ErrorReason, type Logger, ProviderError } from "@virtrigaud/contracts";
import { ConsoleKind, Kind, type VirtualMachine } from "@virtrigaud/proto/manager";
import { type WebSocket, WebSocketServer } from "ws";
import type { ProviderConnection } from "../controllers/provider-connection.js";
import { providerKeyOf } from "../controllers/references.js";
import type { ResourceStore } from "../store/resource-store.js";
import { closeCodeOf, closeReasonText, relayCloseCodes } from "./close-codes.js";
import type { ConsoleBinding, ConsoleTickets } from "./console-tickets.js";
import { relayControlOf } from "./relay-control.js";
import { createRelayInput, providerKindOf } from "./relay-input.js";

/** Where the relay listens on the manager's port: `/console-relay/<namespace>/<name>?ticket=...`. */
const consoleRelayPrefix = "/console-relay/";

/** The relay's path for a VM. */
export function consoleRelayPath(namespace: string, name: string): string {
  return `${consoleRelayPrefix}${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** Options of `createConsoleRelay`. */
export interface ConsoleRelayOptions {
  tickets: ConsoleTickets;
  store: ResourceStore;
  /** The providers this manager is connected to, by "namespace/name". */
  connections: ReadonlyMap<string, ProviderConnection>;
  /** A console with no bytes either way for this long is closed. Default: 15 min. */
  idleTimeoutMs?: number;
  /** A console is closed this long after it opened, busy or not. Default: 8 h. */
  maxSessionMs?: number;
  logger: Logger;
}

/** The console relay: the manager port's WebSocket upgrades, and `close` for shutdown. */
export interface ConsoleRelay {
  /** Takes an HTTP/1.1 Upgrade request (serveServices' `upgrade`). */
  readonly upgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Closes every console (1001) and refuses new ones. */
  close(): void;
}

/** Answers an upgrade that is refused with a plain HTTP status, then drops the socket. */
function refuseUpgrade(socket: Duplex, status: number, text: string, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The VM's namespace and name in a relay path, or undefined for any other path. */
function targetOf(path: string): { namespace: string; name: string } | undefined {
  if (!path.startsWith(consoleRelayPrefix)) return undefined;
  const parts = path.slice(consoleRelayPrefix.length).split("/");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  try {
    return { namespace: decodeURIComponent(parts[0]), name: decodeURIComponent(parts[1]) };
  } catch {
    return undefined;
  }
}

/** The VM's id at its provider and the connection to it, or why the console cannot open. */
function reachVm(
  options: ConsoleRelayOptions,
  binding: ConsoleBinding,
): { vmId: string; connection: ProviderConnection } {
  const vm = options.store.get(Kind.VIRTUAL_MACHINE, binding.namespace, binding.name) as
    VirtualMachine | undefined;
  if (!vm)
    throw ProviderError.notFound(
      `VirtualMachine ${binding.namespace}/${binding.name} does not exist`,
    );
  const vmId = vm.status?.id ?? "";
  if (!vmId)
    throw ProviderError.conflict(
      `VirtualMachine ${binding.name} has not been created at its provider`,
    );
  const key = providerKeyOf(vm);
  const connection = options.connections.get(key);
  if (!connection)
    throw ProviderError.unavailable(`provider ${key} is not connected to this manager`);
  return { vmId, connection };
}

/**
 * The console relay: a WebSocket on the manager's port that takes a ticket
 * (CreateConsoleTicket) once, for the VM its path names, and then carries
 * the console's bytes both ways as binary messages, to and from the
 * provider's Console stream; a text message is a control message
 * (`relayControlOf`: the client's terminal size, passed on as a resize). The
 * browser never names a host or port: the
 * VM's provider is the manager's connection to it. A ticket that is unknown,
 * used, expired or for another VM is refused: the WebSocket opens and closes
 * at once with 4401 and the reason (a browser cannot read a refused upgrade). A
 * console closes when either side ends it, when no byte has moved for
 * `idleTimeoutMs`, or `maxSessionMs` after it opened (4408); a provider's
 * refusal closes it with `closeCodeOf` its reason and its message. Tickets
 * and the request's URL, which holds one, are never logged.
 */
export function createConsoleRelay(options: ConsoleRelayOptions): ConsoleRelay {
  const idleTimeoutMs = options.idleTimeoutMs ?? 15 * 60_000;
  const maxSessionMs = options.maxSessionMs ?? 8 * 3_600_000;
  const { logger } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  const sessions = new Set<(code: number, reason: string) => void>();
  let closed = false;

  const relay = (ws: WebSocket, binding: ConsoleBinding) => {
    const started = Date.now();
    // "vm", not "name": the logger's own "name" is the process's.
    const who = {
      vm: `${binding.namespace}/${binding.name}`,
      kind: ConsoleKind[binding.kind],
      user: binding.user,
    };
    let target: ReturnType<typeof reachVm>;
    try {
      target = reachVm(options, binding);
    } catch (err) {
      const error = ProviderError.from(err);
      ws.close(closeCodeOf(error.reason), closeReasonText(error.message));
      logger.info({ ...who, reason: error.message }, "console refused");
      return;
    }
    const stop = new AbortController();
    const input = createRelayInput(
      { vmId: target.vmId, kind: providerKindOf(binding.kind) },
      { pause: () => ws.pause(), resume: () => ws.resume(), highWaterBytes: 256 << 10 },
    );
    let bytesIn = 0;
    let bytesOut = 0;
    let ended = false;
    const end = (code: number, reason: string) => {
      if (ended) return;
      ended = true;
      clearTimeout(idle);
      clearTimeout(total);
      sessions.delete(end);
      stop.abort();
      input.end();
      if (ws.readyState === ws.OPEN) ws.close(code, closeReasonText(reason));
      const durationMs = Date.now() - started;
      logger.info({ ...who, code, reason, durationMs, bytesIn, bytesOut }, "console closed");
    };
    sessions.add(end);
    const idleFor = () =>
      end(relayCloseCodes.timeLimit, `idle for ${Math.round(idleTimeoutMs / 1000)} s`);
    let idle = setTimeout(idleFor, idleTimeoutMs);
    const total = setTimeout(
      () => end(relayCloseCodes.timeLimit, "the console's time limit passed"),
      maxSessionMs,
    );
    const touched = () => {
      clearTimeout(idle);
      idle = setTimeout(idleFor, idleTimeoutMs);
    };
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      touched();
      if (isBinary) {
        bytesIn += bytes.length;
        input.push(bytes);
        return;
      }
      const control = relayControlOf(bytes.toString("utf8"));
      if ("refused" in control) end(closeCodeOf(ErrorReason.INVALID_SPEC), control.refused);
      else input.resize(control.resize);
    });
    ws.on("close", () => end(relayCloseCodes.ended, "the client closed the console"));
    ws.on("error", (err) => {
      logger.debug({ err, vm: who.vm }, "console socket failed");
      end(relayCloseCodes.ended, "the client's connection failed");
    });
    logger.info(who, "console opened");
    void (async () => {
      for await (const { output } of target.connection.client.console(input, {
        signal: stop.signal,
      })) {
        bytesOut += output.length;
        touched();
        // One message at a time, sent before the next is read: the provider's
        // stream is held back by a slow client, not buffered here.
        await new Promise<void>((resolve, reject) =>
          ws.send(output, { binary: true }, (err) => (err ? reject(err) : resolve())),
        );
      }
    })().then(
      () => end(relayCloseCodes.ended, "the console closed"),
      (err: unknown) => {
        if (ended) return;
        const error = ProviderError.from(err);
        end(closeCodeOf(error.reason), error.message);
      },
    );
  };

  return {
    upgrade(request, socket, head) {
      const url = new URL(request.url ?? "/", "http://relay.invalid");
      const target = targetOf(url.pathname);
      if (!target) return refuseUpgrade(socket, 404, "Not Found", "no such WebSocket");
      if (closed)
        return refuseUpgrade(socket, 503, "Service Unavailable", "the manager is shutting down");
      const ticket = url.searchParams.get("ticket") ?? "";
      const binding = options.tickets.redeem(ticket, target.namespace, target.name);
      if ("refused" in binding) {
        logger.info(
          { vm: `${target.namespace}/${target.name}`, reason: binding.refused },
          "console ticket refused",
        );
        // Opened to be closed at once: a browser's WebSocket shows a refused
        // upgrade as a bare 1006, never its status or body, so the page could
        // not say why. No byte reaches a console through it.
        const reason = `console ticket refused: ${binding.refused}`;
        wss.handleUpgrade(request, socket, head, (ws) =>
          ws.close(relayCloseCodes.ticketRefused, reason),
        );
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => relay(ws, binding));
    },
    close() {
      closed = true;
      for (const end of [...sessions])
        end(relayCloseCodes.shutdown, "the manager is shutting down");
      wss.close();
    },
  };
}
