#!/usr/bin/env node
// Sends one command to QEMU's monitor (QMP) or to a guest agent (QGA) over a
// unix socket and prints the JSON it returns; smoke.sh's client for both.
//
// Usage: node qmp.mjs [--agent] [--timeout MS] SOCKET COMMAND [ARGUMENTS_JSON]
//   --agent  the socket is a guest agent's: no greeting, no capabilities
// Exits 1 with the error on stderr when the command fails or the answer does
// not come within the timeout (default 10 s).
import { createConnection } from "node:net";
import { clearTimeout, setTimeout } from "node:timers";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { agent: { type: "boolean" }, timeout: { type: "string" } },
});
const [socketPath, command, argumentsJson] = positionals;
if (!socketPath || !command) {
  console.error("Usage: node qmp.mjs [--agent] [--timeout MS] SOCKET COMMAND [ARGUMENTS_JSON]");
  process.exit(2);
}
const request = {
  execute: command,
  ...(argumentsJson ? { arguments: JSON.parse(argumentsJson) } : {}),
};

const socket = createConnection(socketPath);
const timer = setTimeout(
  () => fail(`no answer to ${command} within ${values.timeout ?? 10000} ms`),
  Number(values.timeout ?? 10000),
);

function fail(message) {
  console.error(`qmp: ${message}`);
  socket.destroy();
  process.exit(1);
}

// QMP: greeting, then qmp_capabilities, then the command. The agent: the command.
let stage = values.agent ? "command" : "greeting";
if (values.agent) socket.write(`${JSON.stringify(request)}\n`);
let buffered = "";
socket.on("error", (error) => fail(`${socketPath}: ${error.message}`));
socket.on("data", (chunk) => {
  buffered += chunk.toString("utf8");
  let newline;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (!line) continue;
    const message = JSON.parse(line);
    if (message.event) continue;
    if (message.error) fail(`${command}: ${message.error.class}: ${message.error.desc}`);
    if (stage === "greeting") {
      stage = "capabilities";
      socket.write(`${JSON.stringify({ execute: "qmp_capabilities" })}\n`);
    } else if (stage === "capabilities") {
      stage = "command";
      socket.write(`${JSON.stringify(request)}\n`);
    } else {
      clearTimeout(timer);
      console.log(JSON.stringify(message.return));
      socket.end();
      return;
    }
  }
});
