import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  ConsoleKind,
  Kind,
  ManagerService,
  PowerState,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { WebSocket } from "ws";
import { stack, vmManifest } from "./fixtures.js";
import { exitCodes } from "../src/vrtg/common.js";
import { messageOf } from "./harness.js";
import {
  type ServerProcess,
  eventually,
  spawnManager,
  spawnMock,
  spawnVrtg,
  vrtg,
} from "./processes.js";

// The console relay against a real manager and a real provider-mock, with a
// real WebSocket client and the built vrtg: a ticket opens one console of one
// VM once; a used, expired or misdirected ticket and a viewer are refused; an
// idle console is closed; no ticket reaches the manager's log.

jest.setTimeout(120_000);

const dir = mkdtempSync(join(tmpdir(), "console-relay-"));
const tokens = {
  root: "root-token-console-0123",
  eddie: "editor-token-console-0123",
  vic: "viewer-token-console-0123",
};
type User = keyof typeof tokens;
const issued: string[] = [];

let mock: ServerProcess;
let manager: ServerProcess;

function hashLine(token: string, user: string): string {
  return execFileSync(
    process.execPath,
    [join(import.meta.dirname, "../dist/main.js"), "hash-token", user],
    {
      input: token,
      env: { ...process.env, NODE_OPTIONS: "" },
    },
  )
    .toString()
    .trim();
}

const clientAs = (user: User) =>
  createServiceClient(ManagerService, manager.url, {
    headers: { authorization: `Bearer ${tokens[user]}` },
    retry: false,
  });

async function ticketFor(user: User, name: string) {
  const client = clientAs(user);
  try {
    const answer = await client.createConsoleTicket({ name, kind: ConsoleKind.SERIAL });
    issued.push(answer.ticket);
    return answer;
  } finally {
    client.close();
  }
}

const relayUrl = (path: string, ticket: string) =>
  `${manager.url.replace(/^http/, "ws")}${path}?ticket=${encodeURIComponent(ticket)}`;

/** A console session: what it showed, typing, and how it ended. */
function openSocket(url: string) {
  const ws = new WebSocket(url);
  let shown = "";
  const waiters: Array<() => void> = [];
  ws.on("message", (data: Buffer) => {
    shown += data.toString();
    for (const wake of waiters.splice(0)) wake();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => reject(new Error(`${res.statusCode} ${body.trim()}`)));
    });
    ws.once("error", reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return {
    ws,
    opened,
    closed,
    shown: () => shown,
    async until(text: string) {
      while (!shown.includes(text)) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

beforeAll(async () => {
  const tokenFile = join(dir, "tokens");
  writeFileSync(
    tokenFile,
    `${hashLine(tokens.root, "root")}\n${hashLine(tokens.eddie, "eddie")}\n${hashLine(tokens.vic, "vic")}\n`,
  );
  mock = await spawnMock();
  manager = await spawnManager(join(dir, "data"), [
    "--token-file",
    tokenFile,
    "--bootstrap-admin",
    "user:root",
    "--console-ticket-ttl",
    "3s",
    "--console-idle-timeout",
    "2s",
    "--health-interval",
    "1s",
  ]);
  const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: default}
subjects: [{kind: User, name: eddie}]
roleRef: {kind: ClusterRole, name: editor}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: viewers, namespace: default}
subjects: [{kind: User, name: vic}]
roleRef: {kind: ClusterRole, name: viewer}
`;
  const env = { VIRTRIGAUD_TOKEN: tokens.root };
  for (const manifest of [
    rbac,
    stack(mock.url),
    vmManifest("web-1"),
    vmManifest("web-2"),
    vmManifest("web-off", { powerState: "Off" }),
  ]) {
    const applied = await vrtg(manager.url, ["apply", "-f", "-"], manifest, env);
    expect(applied).toMatchObject({ code: 0 });
  }
  const client = clientAs("root");
  try {
    await eventually(
      async () => {
        const { resource } = await client.get({ kind: Kind.VIRTUAL_MACHINE, name: "web-1" });
        const vm = messageOf(resource) as VirtualMachine | undefined;
        return vm?.status?.id && vm.status.powerState === PowerState.ON;
      },
      60_000,
      "web-1 running at the mock",
    );
    await eventually(
      async () => {
        const { resource } = await client.get({ kind: Kind.VIRTUAL_MACHINE, name: "web-off" });
        return (messageOf(resource) as VirtualMachine | undefined)?.status?.id;
      },
      60_000,
      "web-off made at the mock",
    );
  } finally {
    client.close();
  }
});

afterAll(async () => {
  await manager?.stop();
  await mock?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the console relay", () => {
  it("opens the VM's serial console with an editor's ticket, once", async () => {
    const { ticket, path, expireTime } = await ticketFor("eddie", "web-1");
    expect(path).toBe("/console-relay/default/web-1");
    expect(Number(expireTime?.seconds) * 1000).toBeGreaterThan(Date.now());
    const session = openSocket(relayUrl(path, ticket));
    await session.opened;
    await session.until("web-1$ ");
    session.ws.send(Buffer.from("echo through the relay\r"));
    await session.until("through the relay\r\nweb-1$ ");
    session.ws.close(1000);
    expect((await session.closed).code).toBe(1000);

    const again = openSocket(relayUrl(path, ticket));
    await expect(again.closed).resolves.toEqual({
      code: 4401,
      reason: "console ticket refused: unknown or used",
    });
    expect(again.shown()).toBe("");
  });

  it("refuses a ticket presented for another VM", async () => {
    const { ticket } = await ticketFor("eddie", "web-1");
    const elsewhere = openSocket(relayUrl("/console-relay/default/web-2", ticket));
    await expect(elsewhere.closed).resolves.toEqual({
      code: 4401,
      reason: "console ticket refused: for another VM",
    });
    expect(elsewhere.shown()).toBe("");
  });

  it("refuses a ticket past its lifetime", async () => {
    const { ticket, path } = await ticketFor("eddie", "web-1");
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    await expect(openSocket(relayUrl(path, ticket)).closed).resolves.toEqual({
      code: 4401,
      reason: "console ticket refused: expired",
    });
  });

  it("gives a viewer no ticket", async () => {
    const refused = await ticketFor("vic", "web-1").then(
      () => undefined,
      (err: unknown) => ProviderError.from(err),
    );
    expect(refused?.reason).toBe(ErrorReason.PERMISSION_DENIED);
  });

  it("passes a text message's terminal size on to the provider, and closes on any other text", async () => {
    const { ticket, path } = await ticketFor("eddie", "web-1");
    const session = openSocket(relayUrl(path, ticket));
    await session.opened;
    await session.until("web-1$ ");
    session.ws.send(JSON.stringify({ resize: { cols: 90, rows: 33 } }));
    session.ws.send(Buffer.from("stty size\r"));
    await session.until("stty size\r\n33 90\r\nweb-1$ ");
    session.ws.send("ls");
    await expect(session.closed).resolves.toEqual({
      code: 4400,
      reason: "a text message must be JSON",
    });
  });

  it("closes a console nobody types on at the idle limit", async () => {
    const { ticket, path } = await ticketFor("eddie", "web-2");
    const session = openSocket(relayUrl(path, ticket));
    await session.opened;
    const started = Date.now();
    const { code, reason } = await session.closed;
    expect(code).toBe(4408);
    expect(reason).toBe("idle for 2 s");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it("runs vrtg console through pipes: what is typed runs, and it ends when input has", async () => {
    const run = spawnVrtg(manager.url, ["console", "web-1"], {
      stdin: "echo typed into vrtg\r",
      env: { VIRTRIGAUD_TOKEN: tokens.eddie },
    });
    const result = await run.result;
    expect(result.stdout).toContain("echo typed into vrtg\r\ntyped into vrtg\r\nweb-1$ ");
    expect(result.stderr).toContain("Connected to web-1 (escape character is ^])");
    expect(result.code).toBe(0);
  });

  it("runs vrtg console on a VM that is not running: the provider's refusal, never 'Connected'", async () => {
    const result = await vrtg(manager.url, ["console", "web-off"], "", {
      VIRTRIGAUD_TOKEN: tokens.eddie,
    });
    expect(result.stderr).toMatch(/is not running/);
    expect(result.stderr).not.toContain("Connected");
    expect(result.code).toBe(exitCodes.conflict);
  });

  it("leaves vrtg console at Ctrl-], sending nothing after it", async () => {
    const result = await vrtg(manager.url, ["console", "web-1"], "echo before\r\x1decho after\r", {
      VIRTRIGAUD_TOKEN: tokens.eddie,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("after");
  });

  it("logs no ticket", () => {
    const log = JSON.stringify(manager.logs);
    expect(issued.length).toBeGreaterThan(3);
    for (const ticket of issued) expect(log).not.toContain(ticket);
    expect(manager.logs).toContainEqual(
      expect.objectContaining({ msg: "console opened", vm: "default/web-1", user: "eddie" }),
    );
  });
});
