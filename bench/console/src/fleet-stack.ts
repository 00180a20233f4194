import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client, Interceptor } from "@connectrpc/connect";
import { applyFleet, applyFleetBase } from "@virtrigaud/bench-manager/dist/fleet.js";
import { startServer } from "@virtrigaud/bench-manager/dist/processes.js";
import { untilAllReady } from "@virtrigaud/bench-manager/dist/ready-watch.js";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { ManagerService } from "@virtrigaud/proto/manager";

/** The console as `vite build` made it. */
export const consoleDist = fileURLToPath(new URL("../../../apps/console/dist", import.meta.url));

/** The administrator's bearer token: made up for this run, known to its manager only. */
const adminToken = `bench-console-${createHash("sha256").update(String(Math.random())).digest("hex")}`;

/** A manager serving the console, its provider-mock, and a client that may do anything. */
export interface FleetStack {
  consoleUrl: string;
  token: string;
  client: Client<typeof ManagerService>;
  stop(): Promise<void>;
}

/**
 * Starts provider-mock and a manager with the console, on 127.0.0.1, and
 * applies `n` VMs (64 in flight), returning once all are Ready.
 */
export async function startFleet(dir: string, n: number): Promise<FleetStack> {
  if (!existsSync(join(consoleDist, "index.html")))
    throw new Error(`${consoleDist} is missing: npx nx run @virtrigaud/console:build`);
  const tokenFile = join(dir, "tokens");
  const digest = createHash("sha256").update(adminToken).digest("hex");
  writeFileSync(tokenFile, `sha256:${digest} admin\n`, { mode: 0o600 });
  const mock = await startServer("mock", []);
  const manager = await startServer("manager", [
    ...["--data", join(dir, "data"), "--token-file", tokenFile, "--bootstrap-admin", "user:admin"],
    ...["--console-dir", consoleDist],
  ]).catch(async (err: unknown) => {
    await mock.stop();
    throw err;
  });
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${adminToken}`);
    return next(req);
  };
  const client = createServiceClient(ManagerService, manager.url, {
    defaultTimeoutMs: 120_000,
    interceptors: [bearer],
  });
  const stop = async () => {
    client.close();
    await manager.stop();
    await mock.stop();
  };
  try {
    await applyFleetBase(client, mock.url);
    const allReady = untilAllReady(client, n, 600_000);
    await applyFleet([client], n, 64);
    await allReady;
  } catch (err) {
    await stop();
    throw err;
  }
  return { consoleUrl: `${manager.url}/console/`, token: adminToken, client, stop };
}
