import type { IncomingMessage } from "node:http";
import { ConsoleKind } from "@virtrigaud/proto/manager";
import { WebSocket } from "ws";
import { type CommandContext, atMost } from "../command-context.js";
import { CliError, exitCodes, readTlsFile } from "../common.js";
import { endOfConsole, splitAtEscape } from "../console-session.js";

/** After standard input ends (a pipe), the console is closed once it has been quiet this long. */
const drainQuietMs = 1000;

/** The relay's WebSocket URL: the manager's address, the ticket's path, the ticket. */
function relayUrl(server: string, path: string, ticket: string): string {
  const url = new URL(path, server);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("ticket", ticket);
  return url.toString();
}

/** The body of a refused upgrade (403 with the reason), read to its end. */
function refusalOf(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => (body += chunk.slice(0, 500)));
    response.on("end", () => resolve(body.trim() || `HTTP ${response.statusCode}`));
    response.on("error", () => resolve(`HTTP ${response.statusCode}`));
  });
}

/**
 * `vrtg console VM`: the VM's serial console in this terminal, through the
 * manager's relay with a ticket of CreateConsoleTicket. "Connected" is said
 * once the provider has opened the console; a refusal (a VM that is not
 * running) ends with the provider's word and no "Connected". Standard input goes
 * to the console (the terminal in raw mode, so keys go as typed) until
 * Ctrl-]; its output comes to standard output. From a pipe, the console is
 * closed once standard input has ended and the console is quiet for a second.
 */
export async function consoleCommand(ctx: CommandContext): Promise<number> {
  atMost(ctx.args, 1, "console VM");
  const name = ctx.args[0];
  if (!name) throw new CliError("console needs a VirtualMachine's name", exitCodes.usage);
  const { global, io } = ctx;
  const { ticket, path } = await ctx.client.createConsoleTicket({
    namespace: global.namespace,
    name,
    kind: ConsoleKind.SERIAL,
  });
  const ws = new WebSocket(relayUrl(global.server, path, ticket), {
    ...(global.caFile ? { ca: readTlsFile("--ca", global.caFile) } : {}),
    ...(global.certFile ? { cert: readTlsFile("--cert", global.certFile) } : {}),
    ...(global.keyFile ? { key: readTlsFile("--key", global.keyFile) } : {}),
  });
  const decoder = new TextDecoder();
  let quiet: NodeJS.Timeout | undefined;
  let inputEnded = false;
  let attached = false;
  const closeWhenQuiet = () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => ws.close(1000, "standard input ended"), drainQuietMs);
  };
  const ended = new Promise<number>((resolve, reject) => {
    ws.on("unexpected-response", (_request, response) => {
      void refusalOf(response).then((text) =>
        reject(new CliError(`the console relay refused: ${text}`, exitCodes.error)),
      );
    });
    ws.on("error", (err) =>
      reject(new CliError(`the console relay: ${err.message}`, exitCodes.unavailable)),
    );
    ws.on("message", (data: Buffer) => {
      // The first message says the provider opened the console (a quiet one
      // sends no bytes in it): the relay's socket opens before the provider
      // has answered, and a refusal closes it without a message.
      if (!attached) {
        attached = true;
        io.err(`Connected to ${name} (escape character is ^])\r\n`);
      }
      io.out(decoder.decode(data, { stream: true }));
      if (inputEnded) closeWhenQuiet();
    });
    ws.on("close", (code, reason) => {
      clearTimeout(quiet);
      const end = endOfConsole(code, reason.toString());
      if (end.message) io.err(`\r\n${end.message}\n`);
      resolve(end.exitCode);
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ended.then(() => resolve(), reject);
  });
  if (ws.readyState !== WebSocket.OPEN) return ended;
  io.setRawMode?.(true);
  const typing = io.stdin()[Symbol.asyncIterator]();
  try {
    void (async () => {
      for (;;) {
        const next = await typing.next();
        if (next.done) break;
        if (ws.readyState !== WebSocket.OPEN) return;
        const { send, escaped } = splitAtEscape(next.value);
        if (send.length > 0) ws.send(send);
        if (escaped) {
          ws.close(1000, "left with the escape character");
          return;
        }
      }
      inputEnded = true;
      closeWhenQuiet();
    })().catch(() => ws.close(1000, "standard input failed"));
    return await ended;
  } finally {
    // Standard input is read no more: a terminal still open must not keep vrtg running.
    void typing.return?.();
    io.setRawMode?.(false);
  }
}
