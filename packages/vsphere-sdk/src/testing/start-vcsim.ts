import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { VcsimEndpoint } from "./vcsim-endpoint.js";

/** Options of `startVcsim`. */
export interface StartVcsimOptions {
  /** VMs in each resource pool and on each standalone host (vcsim's `-vm`). Default: 2. */
  vmsPerPool?: number;
  /** Names of VM templates to add. Default: none. */
  templates?: string[];
  /** The username vcsim accepts. Default: "vcsim@vsphere.local". The password is generated. */
  username?: string;
  /**
   * The vcsim executable. Default: `$VIRTRIGAUD_VCSIM_BIN`, else the test
   * bed's `$VIRTRIGAUD_TESTBED/vcsim/bin/vcsim` (`.testbed` of the repository
   * by default), built by tools/testbed/vcsim/setup.sh when it is missing.
   */
  binary?: string;
  /** How long to wait for it to serve. Default: 30 s. */
  timeoutMs?: number;
}

/** A vcsim process of the caller's own. */
export interface Vcsim extends VcsimEndpoint {
  /** Its process id. */
  readonly pid: number;
  /** Stops it (SIGTERM to its PID), waits for it to exit and removes its directory. */
  stop(): Promise<void>;
}

/** The repository's root: this file is in packages/vsphere-sdk/{src,dist}/testing. */
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

function defaultBinary(): string {
  const fromEnv = process.env["VIRTRIGAUD_VCSIM_BIN"];
  if (fromEnv) return fromEnv;
  const testbed = process.env["VIRTRIGAUD_TESTBED"] ?? join(repoRoot, ".testbed");
  const bin = join(testbed, "vcsim/bin/vcsim");
  if (!existsSync(bin))
    execFileSync(join(repoRoot, "tools/testbed/vcsim/setup.sh"), { stdio: "inherit" });
  return bin;
}

/**
 * Starts a vcsim of the caller's own (tools/vcsim, the test bed's binary) on a
 * free port of 127.0.0.1 with a generated password, in a temporary directory
 * that holds its certificate and the file it writes once it serves; resolves
 * once it serves. `-vm N` gives N VMs in a cluster's root pool and N on a
 * standalone host, so twice that in all.
 *
 * @throws Error (rejects) when it exits or does not serve within the timeout,
 * with what it wrote to stderr; it is then stopped and its directory removed.
 * Rejects with setup.sh's error when the binary has to be built and cannot be.
 */
export async function startVcsim(options: StartVcsimOptions = {}): Promise<Vcsim> {
  const binary = options.binary ?? defaultBinary();
  const dir = mkdtempSync(join(tmpdir(), "vcsim-"));
  const username = options.username ?? "vcsim@vsphere.local";
  const password = randomBytes(12).toString("hex");
  const info = join(dir, "info.json");
  const caFile = join(dir, "ca.pem");
  const child: ChildProcess = spawn(
    binary,
    [
      "-listen",
      "127.0.0.1:0",
      "-vm",
      String(options.vmsPerPool ?? 2),
      "-templates",
      (options.templates ?? []).join(","),
      "-info-out",
      info,
      "-cert-out",
      caFile,
    ],
    {
      env: { ...process.env, VCSIM_USERNAME: username, VCSIM_PASSWORD: password },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let running = true;
  const exited = new Promise<void>((done) => {
    child.once("exit", () => done());
    // A binary that cannot be run: no process, no exit event.
    child.once("error", (err) => {
      stderr += String(err);
      done();
    });
  }).finally(() => (running = false));
  const stop = async () => {
    if (running && child.pid !== undefined) process.kill(child.pid, "SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  // vcsim renames its info file into place once it serves (its templates made).
  while (!existsSync(info)) {
    if (!running || Date.now() > deadline) {
      await stop();
      throw new Error(`vcsim did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const { url, thumbprint } = JSON.parse(readFileSync(info, "utf8")) as {
    url: string;
    thumbprint: string;
  };
  return { pid: child.pid!, url, username, password, caFile, thumbprint, stop };
}
