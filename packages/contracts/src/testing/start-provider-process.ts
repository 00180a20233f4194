import { type ChildProcess, spawn } from "node:child_process";

/** A provider (or other VirtRigaud server) process started by a test. */
export interface ProviderProcess {
  child: ChildProcess;
  /** The RPC base URL it logged when it started serving. */
  url: string;
  /** The ops base URL (/healthz, /readyz, /metrics) it logged, when they are on. */
  opsUrl: string | undefined;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** What it has written to stderr so far: Node's own warnings land there, not in the log. */
  stderr(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Sends a signal (default SIGTERM) and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A process that exited before it served, with what it wrote to stderr. */
export class EarlyExit extends Error {
  override name = "EarlyExit";
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`the process exited with code ${code} before serving: ${stderr}`);
  }
}

/** Options of `startProviderProcess`. */
export interface ProviderProcessOptions {
  /** The executable. Default: the running Node. */
  command?: string;
  /** Its arguments, for example [bin, "--listen", "127.0.0.1:0", "--insecure"]. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for it to serve. Default: 15 s. */
  timeoutMs?: number;
}

/**
 * Starts a server process that logs JSON lines (as `runProvider` does) and
 * resolves once it logs that it is serving ("provider serving", "manager
 * serving", ...), with the URL it logged. NODE_OPTIONS is cleared so a test
 * runner's flags do not leak into the child.
 *
 * @throws EarlyExit (rejects) when it exits first; Error when it does not
 * serve in time (it is then killed).
 */
export function startProviderProcess(options: ProviderProcessOptions): Promise<ProviderProcess> {
  const child = spawn(options.command ?? process.execPath, options.args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "", ...options.env },
  });
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
      reject(
        new Error(`the process did not serve within ${options.timeoutMs ?? 15_000} ms: ${stderr}`),
      );
    }, options.timeoutMs ?? 15_000);
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines.filter(Boolean)) {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          entry = { msg: line };
        }
        logs.push(entry);
        const url = entry["url"];
        if (
          typeof entry["msg"] === "string" &&
          entry["msg"].endsWith(" serving") &&
          typeof url === "string"
        ) {
          clearTimeout(timer);
          resolve({
            child,
            url,
            opsUrl: typeof entry["ops"] === "string" ? entry["ops"] : undefined,
            logs,
            stderr: () => stderr,
            exited,
            stop: (signal = "SIGTERM") => {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
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
