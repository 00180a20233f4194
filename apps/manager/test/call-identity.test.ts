import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createLogger } from "@virtrigaud/contracts";
import type { CallObserver } from "@virtrigaud/contracts/server";
import { Kind, ManagerService } from "@virtrigaud/proto/manager";
import { SignJWT, generateKeyPair } from "jose";
import { identityOf } from "../src/auth/identity.js";
import { tokenLine } from "../src/auth/token-file.js";
import { type Manager, startManager } from "../src/manager.js";

// What an audit log (a CallObserver) sees of each call: who, which RPC, how it ended.
const seen: Array<{ rpc: string; identity: unknown; code: string }> = [];
const observer: CallObserver = {
  finished(req, info, error) {
    seen.push({
      rpc: info.rpc,
      identity: identityOf(req.contextValues),
      code: error ? (Code[error.code] ?? "") : "ok",
    });
  },
};

const dir = mkdtempSync(join(tmpdir(), "call-identity-"));
let manager: Manager;
beforeAll(async () => {
  writeFileSync(join(dir, "tokens"), `${tokenLine("alice-token", "alice", ["dev"])}\n`);
  manager = await startManager({
    dataDir: join(dir, "data"),
    logger: createLogger({ level: "silent" }),
    serve: {
      listen: "127.0.0.1:0",
      insecure: true,
      opsListen: false,
      handleSignals: false,
      callObservers: [observer],
    },
    // Nothing listens on port 1: every JWT is refused, with the subject it claimed.
    auth: {
      tokenFile: join(dir, "tokens"),
      oidc: { issuer: "http://127.0.0.1:1", audience: "virtrigaud" },
    },
  });
});
afterAll(async () => {
  await manager.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(
  token: string | undefined,
  run: (c: ReturnType<typeof client>) => Promise<unknown>,
) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  seen.length = 0;
  await run(client(headers)).catch((e: unknown) => ConnectError.from(e));
  return seen.at(-1);
}
function client(headers: Record<string, string>) {
  const c = createClient(
    ManagerService,
    createGrpcTransport({ baseUrl: manager.server?.url ?? "" }),
  );
  return {
    get: () => c.get({ kind: Kind.VM_CLASS, name: "x" }, { headers }),
    watch: async () => {
      for await (const _change of c.watch({ kind: Kind.VM_CLASS }, { headers })) return;
    },
  };
}

it("gives observers the identity of a denied call, a stream's, and a refused one's", async () => {
  expect(await call("alice-token", (c) => c.get())).toEqual({
    rpc: "Get",
    identity: { name: "alice", groups: ["dev"], method: "token" },
    code: "PermissionDenied",
  });
  expect(await call("alice-token", (c) => c.watch())).toEqual({
    rpc: "Watch",
    identity: { name: "alice", groups: ["dev"], method: "token" },
    code: "PermissionDenied",
  });
  expect(await call(undefined, (c) => c.get())).toEqual({
    rpc: "Get",
    identity: { name: "anonymous", groups: [], method: "anonymous" },
    code: "Unauthenticated",
  });
  // A token that names no one claims no one.
  expect(await call("not-a-known-token", (c) => c.get())).toEqual({
    rpc: "Get",
    identity: { name: "anonymous", groups: [], method: "anonymous" },
    code: "Unauthenticated",
  });
  const { privateKey } = await generateKeyPair("ES256");
  const forged = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256" })
    .setSubject("mallory")
    .setIssuer("http://127.0.0.1:1")
    .setAudience("virtrigaud")
    .setExpirationTime("5m")
    .sign(privateKey);
  expect(await call(forged, (c) => c.get())).toEqual({
    rpc: "Get",
    // With the prefix a verified name would have (ISSUER#).
    identity: { name: "http://127.0.0.1:1#mallory", groups: [], method: "oidc", unverified: true },
    code: "Unauthenticated",
  });
});
