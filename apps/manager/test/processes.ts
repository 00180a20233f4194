import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";

/** The repository's root directory. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const mockBin = fileURLToPath(new URL("../../provider-mock/dist/main.js", import.meta.url));
const managerBin = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const vrtgBin = fileURLToPath(new URL("../dist/vrtg/cli.js", import.meta.url));
const vsphereBin = fileURLToPath(new URL("../../provider-vsphere/dist/main.js", import.meta.url));
const libvirtBin = fileURLToPath(new URL("../../provider-libvirt/dist/main.js", import.meta.url));

/** A server process started by a test. */
export type ServerProcess = ProviderProcess;

function requireBuilt(bin: string, project: string): void {
  if (!existsSync(bin))
    throw new Error(
      `${bin} is missing: build it first with npx nx run @virtrigaud/${project}:build`,
    );
}

async function spawnServer(
  bin: string,
  args: string[],
  what: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  try {
    return await startProviderProcess({ args: [bin, ...args], env, timeoutMs: 20_000 });
  } catch (err) {
    throw new Error(`${what} did not start: ${(err as Error).message}`, { cause: err });
  }
}

/** Runs virtrigaud-provider-mock on 127.0.0.1 (port 0 unless `--listen` is given). */
export function spawnMock(args: string[] = []): Promise<ServerProcess> {
  requireBuilt(mockBin, "provider-mock");
  const listen = args.includes("--listen") ? [] : ["--listen", "127.0.0.1:0"];
  const ops = args.includes("--ops-listen") ? [] : ["--ops-listen", "127.0.0.1:0"];
  return spawnServer(mockBin, ["--insecure", ...listen, ...ops, ...args], "provider-mock");
}

/** Runs virtrigaud-provider-vsphere on 127.0.0.1 with `args` (the vCenter flags) and `env`. */
export function spawnVsphere(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  requireBuilt(vsphereBin, "provider-vsphere");
  return spawnServer(
    vsphereBin,
    ["--insecure", "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", ...args],
    "provider-vsphere",
    env,
  );
}

/**
 * Runs virtrigaud-provider-libvirt on 127.0.0.1 with `args` (the host and
 * pool flags; port 0 unless `--listen` is given).
 */
export function spawnLibvirt(args: string[]): Promise<ServerProcess> {
  requireBuilt(libvirtBin, "provider-libvirt");
  const listen = args.includes("--listen") ? [] : ["--listen", "127.0.0.1:0"];
  return spawnServer(
    libvirtBin,
    ["--insecure", ...listen, "--ops-listen", "127.0.0.1:0", ...args],
    "provider-libvirt",
  );
}

/** Runs virtrigaud-manager on 127.0.0.1 with a data directory (and `env` added to the test's). */
export function spawnManager(
  dataDir: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<ServerProcess> {
  requireBuilt(managerBin, "manager");
  const listen = args.includes("--listen") ? [] : ["--listen", "127.0.0.1:0"];
  return spawnServer(
    managerBin,
    ["--insecure", "--data", dataDir, "--ops-listen", "127.0.0.1:0", ...listen, ...args],
    "virtrigaud-manager",
    env,
  );
}

/** Runs virtrigaud-manager with exactly `args` to its end (for the runs that must not start). */
export function runManager(args: string[]): Promise<VrtgResult> {
  requireBuilt(managerBin, "manager");
  const child = spawn(process.execPath, [managerBin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
}

/** What a vrtg run printed and how it ended. */
export interface VrtgResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A vrtg process still running, and what it printed so far. */
export interface VrtgProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  result: Promise<VrtgResult>;
}

/** Starts the built vrtg binary against a manager (with `env` added to the test's). */
export function spawnVrtg(
  server: string,
  args: string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv; keepStdinOpen?: boolean } = {},
): VrtgProcess {
  requireBuilt(vrtgBin, "manager");
  const child = spawn(process.execPath, [vrtgBin, "--server", server, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "", ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  // Kept open, the test writes to child.stdin as it goes (an interactive console).
  if (options.keepStdinOpen) child.stdin.write(options.stdin ?? "");
  else child.stdin.end(options.stdin ?? "");
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    result: new Promise((resolve) =>
      child.once("exit", (code) => resolve({ code, stdout, stderr })),
    ),
  };
}

/** Runs the built vrtg binary against a manager to its end. */
export function vrtg(
  server: string,
  args: string[],
  stdin?: string,
  env?: NodeJS.ProcessEnv,
): Promise<VrtgResult> {
  return spawnVrtg(server, args, {
    ...(stdin === undefined ? {} : { stdin }),
    ...(env ? { env } : {}),
  }).result;
}

/** Counts of provider RPCs by method, read from a provider's /metrics. */
export async function providerCalls(opsUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/rpc_server_duration_count\{[^}]*rpc_method="(\w+)"[^}]*\} (\d+)/g))
    out[m[1] ?? ""] = (out[m[1] ?? ""] ?? 0) + Number(m[2]);
  return out;
}

/** Polls `check` until it returns a value other than undefined or false. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The sum of a metric's samples on a Prometheus text page whose labels
 * include `labels` (other labels, otel_scope_name say, may be there too);
 * undefined when no sample matches.
 */
export function metricValue(
  page: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let sum: number | undefined;
  for (const line of page.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v))
      sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}

/** A server's /metrics page. */
export async function scrape(server: ServerProcess): Promise<string> {
  if (!server.opsUrl) throw new Error("the server has no ops listener");
  return (await fetch(`${server.opsUrl}/metrics`)).text();
}

/** A TCP port free on 127.0.0.1 just now, for a server that must be started on a known port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
