import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository's root directory. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const bin = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** A provider-mock process started by a test. */
export interface MockProcess {
  child: ChildProcess;
  /** The RPC base URL it logged when it started serving. */
  url: string;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A process that exited before it served, with what it wrote. */
export class EarlyExit extends Error {
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`provider-mock exited with code ${code}: ${stderr}`);
  }
}

/**
 * Runs the built virtrigaud-provider-mock on 127.0.0.1 with the given flags
 * and waits until it logs that it is serving.
 *
 * @throws EarlyExit (rejects) when it exits first.
 */
export function spawnMock(args: string[]): Promise<MockProcess> {
  const child = spawn(
    process.execPath,
    [bin, "--listen", "127.0.0.1:0", "--ops-listen", "off", ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "" },
    },
  );
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  let buffered = "";
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`provider-mock did not start within 15 s: ${stderr}`));
    }, 15_000);
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines.filter(Boolean)) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry["msg"] === "provider serving") {
          clearTimeout(timer);
          resolve({
            child,
            url: String(entry["url"]),
            logs,
            exited,
            stop: (signal = "SIGTERM") => {
              child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new EarlyExit(code, stderr));
    });
  });
}
