import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";

/** The processes a benchmark run started, so it stops exactly those and no others. */
export interface ChildProcesses {
  /** Starts `node ...nodeArgs script ...args` and remembers its PID. */
  startNode(
    name: string,
    script: string,
    args: string[],
    options?: SpawnOptions,
    nodeArgs?: string[],
  ): ChildProcess;
  /** SIGTERM to each child still running, SIGKILL to any still running after `graceMs`. */
  stopAll(graceMs?: number): Promise<void>;
  /** SIGKILL to each child still running, synchronously: the last resort on exit. */
  killAllNow(): void;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  return running(child)
    ? new Promise((resolve) => child.once("exit", () => resolve()))
    : Promise.resolve();
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.pid === undefined || !running(child)) return;
  try {
    process.kill(child.pid, name);
  } catch {
    // It exited between the check and the signal.
  }
}

export function createChildProcesses(): ChildProcesses {
  const children = new Map<ChildProcess, string>();
  return {
    startNode(name, script, args, options = {}, nodeArgs = []) {
      const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        ...options,
      });
      children.set(child, name);
      child.once("exit", () => children.delete(child));
      return child;
    },
    async stopAll(graceMs = 3000) {
      const stopping = [...children.keys()];
      for (const child of stopping) signal(child, "SIGTERM");
      const timer = setTimeout(() => {
        for (const child of stopping) signal(child, "SIGKILL");
      }, graceMs);
      await Promise.all(stopping.map(exited));
      clearTimeout(timer);
    },
    killAllNow() {
      for (const child of children.keys()) signal(child, "SIGKILL");
    },
  };
}
