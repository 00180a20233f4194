import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import type { ShellPipes } from "./command-session.js";
import type { HostTransport } from "./host-transport.js";

/** Runs shells on this machine, for a libvirt URI reached without SSH. */
export function createLocalTransport(): HostTransport {
  const children = new Set<ReturnType<typeof spawn>>();
  return {
    description: "local",
    openShell() {
      // Arguments never pass through this shell's command line: see command-session.ts.
      // Detached: the shell leads a process group of its own, which an aborted
      // command's kill ends (see command-session.ts).
      const child = spawn("/bin/sh", [], { stdio: ["pipe", "pipe", "pipe"], detached: true });
      children.add(child);
      child.on("exit", () => children.delete(child));
      const pipes: ShellPipes = {
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        close: () => {
          child.stdin.end();
          child.kill();
        },
      };
      return Promise.resolve(pipes);
    },
    async writeFile(path, data, signal) {
      await writeFile(path, data, { mode: 0o600, ...(signal ? { signal } : {}) });
    },
    close() {
      for (const child of children) child.kill();
      return Promise.resolve();
    },
  };
}
