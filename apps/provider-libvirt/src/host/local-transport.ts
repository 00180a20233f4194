import { spawn } from "node:child_process";
import { open, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { ProviderError } from "@virtrigaud/contracts";
import type { ShellPipes } from "./command-session.js";
import type { HostFile, HostTransport } from "./host-transport.js";
import { shellCommand } from "./shell-quote.js";

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
    openTerminal(argv) {
      // script(1) gives the program a pty; its command line is the quoted argv.
      const child = spawn("script", ["-q", "-e", "-c", shellCommand(argv), "/dev/null"], {
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      });
      children.add(child);
      child.on("exit", () => children.delete(child));
      const pipes: ShellPipes = {
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        close: () => {
          child.stdin.end();
          // The whole group: script and the program on its terminal.
          if (child.pid !== undefined && child.exitCode === null) {
            try {
              process.kill(-child.pid, "SIGHUP");
            } catch {
              // Already gone.
            }
          }
        },
      };
      return Promise.resolve(pipes);
    },
    openTcp(address, port, signal) {
      return new Promise((resolve, reject) => {
        const socket = connect({ host: address, port, ...(signal ? { signal } : {}) });
        socket.once("connect", () => {
          socket.off("error", refused);
          resolve(socket);
        });
        const refused = (err: Error) =>
          reject(
            ProviderError.unavailable(`cannot reach ${address}:${port}: ${err.message}`, {
              cause: err,
            }),
          );
        socket.once("error", refused);
      });
    },
    async writeFile(path, data, signal) {
      await writeFile(path, data, { mode: 0o600, ...(signal ? { signal } : {}) });
    },
    async openFile(path, mode) {
      const file = await open(path, mode).catch((err: unknown) => {
        throw (err as NodeJS.ErrnoException).code === "ENOENT"
          ? ProviderError.notFound(`${path} does not exist on the host`, { cause: err })
          : err;
      });
      const hostFile: HostFile = {
        async read(offset, length) {
          const buffer = Buffer.alloc(length);
          let total = 0;
          while (total < length) {
            const { bytesRead } = await file.read(buffer, total, length - total, offset + total);
            if (bytesRead === 0) break;
            total += bytesRead;
          }
          return buffer.subarray(0, total);
        },
        async write(offset, data) {
          await file.write(data, 0, data.length, offset);
        },
        close: () => file.close().catch(() => undefined),
      };
      return hostFile;
    },
    close() {
      for (const child of children) child.kill();
      return Promise.resolve();
    },
  };
}
