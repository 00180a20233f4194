import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import type { Duplex } from "node:stream";
import {
  type BackendLimiter,
  type Logger,
  ProviderError,
  createBackendLimiter,
} from "@virtrigaud/contracts";
import {
  type CommandResult,
  type CommandSession,
  SessionClosedError,
  type ShellPipes,
  type ShellProcess,
  createCommandSession,
  killShellScript,
} from "./command-session.js";
import type { HostFile, HostTransport } from "./host-transport.js";
import { inHostSpan } from "./host-span.js";
import {
  createScratchLease,
  isOwner,
  ownerOf,
  ownersScript,
  parseOwners,
} from "./scratch-lease.js";
import { type VirshOptions, shellCommand, virshCommand } from "./shell-quote.js";

/** One virsh command of a batch: its name and options (see virshCommand), unquoted. */
export type VirshArgv = readonly [name: string, options?: VirshOptions];

/** What one command of a virsh batch did. */
export interface VirshOutcome {
  /** Its standard output. */
  out: string;
  /** Its error message (virsh's `error: ...` lines), or undefined when it succeeded. */
  error: string | undefined;
}

/** Options of `createLibvirtHost`. */
export interface LibvirtHostOptions {
  transport: HostTransport;
  /** The libvirt URI virsh connects to on the host, for example qemu:///system. */
  uri: string;
  /** Shells kept open on the host, and so commands run at once. Default: 4. */
  sessions?: number;
  /** Commands per second toward the host. Default: no limit. */
  qps?: number;
  /**
   * The directory on the host the provider's scratch directories are made in
   * (see scratch-lease.ts). Default: /tmp.
   */
  scratchRoot?: string;
  logger?: Logger;
}

/** Options of one call to the host. */
export interface HostCallOptions {
  /**
   * Ends the call: while it waits for a shell, it stops waiting; while its
   * command runs, the call rejects at once with the signal's reason, the
   * command's channel is closed and its process group killed on the host (see
   * command-session.ts), and the shell's place in the pool is free again.
   */
  signal?: AbortSignal | undefined;
  /**
   * The command only reads: when the connection drops under it, it runs
   * again once on a new connection. Default: false.
   */
  idempotent?: boolean;
}

/** The libvirt host as the provider uses it: virsh batches, commands and files. */
export interface LibvirtHost {
  readonly uri: string;
  readonly description: string;
  /**
   * How many times a call that may change the host (one not marked
   * idempotent) started or ended: a reader that saw the same count before
   * and after knows no change of this process's happened in between.
   */
  readonly changes: number;
  /**
   * Runs virsh commands in one virsh process (one connection to libvirtd,
   * one round trip over SSH) and reports each command's outcome.
   *
   * @throws ProviderError UNAVAILABLE when the host cannot be reached or virsh cannot run.
   */
  virsh(commands: readonly VirshArgv[], options?: HostCallOptions): Promise<VirshOutcome[]>;
  /**
   * Runs virsh commands like `virsh`, and throws the first failure.
   *
   * @throws ProviderError INTERNAL (or NOT_FOUND for a missing domain) naming the failed command.
   */
  virshOk(commands: readonly VirshArgv[], options?: HostCallOptions): Promise<string[]>;
  /**
   * Runs one program with its arguments (each quoted; no shell syntax
   * reaches the host's shell) and returns what it printed.
   */
  exec(argv: readonly string[], options?: HostCallOptions): Promise<CommandResult>;
  /**
   * Runs a long-lived program (each argument quoted) on a shell of its own,
   * outside the pool and the limiter, and calls `onLine` with each line it
   * prints, as it prints it, until `signal` or closing the host ends it:
   * then its process group is ended on the host and the call resolves (at
   * once on a closed host).
   *
   * @throws ProviderError UNAVAILABLE when the program ended on its own or
   * the connection dropped.
   */
  follow(
    argv: readonly string[],
    onLine: (line: string) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Runs a program (each argument quoted) on a terminal of its own on the
   * host, outside the pool and the limiter (see HostTransport.openTerminal):
   * a console. Closing the host hangs up the terminals still open.
   */
  openTerminal(argv: readonly string[], signal?: AbortSignal): Promise<ShellPipes>;
  /**
   * Opens a TCP connection as the host sees it (see HostTransport.openTcp),
   * outside the pool and the limiter: a VNC display. Closing the host ends
   * those still open.
   */
  openTcp(address: string, port: number, signal?: AbortSignal): Promise<Duplex>;
  /** Writes a document as a file on the host. */
  writeFile(path: string, data: string | Buffer, signal?: AbortSignal): Promise<void>;
  /** Opens a file on the host for positional reads and writes (see HostTransport.openFile). */
  openFile(path: string, mode: "r" | "r+", signal?: AbortSignal): Promise<HostFile>;
  /**
   * This process's scratch directory on the host (0700), made on first use
   * and again after a reconnect; directories of dead provider processes are
   * removed then. See scratch-lease.ts.
   *
   * @throws ProviderError UNAVAILABLE when it cannot be made.
   */
  scratchDir(signal?: AbortSignal): Promise<string>;
  /**
   * Who this process is on the host, for records other processes read
   * (`<base>/<instance>`): alive while any of its scratch directories is held.
   */
  scratchOwner(signal?: AbortSignal): Promise<string>;
  /** The host's identity (/etc/machine-id, else its host name), for records in shared storage. */
  machine(signal?: AbortSignal): Promise<string>;
  /** Whether the processes named by `scratchOwner` values are alive. */
  ownerStates(
    owners: readonly string[],
    signal?: AbortSignal,
  ): Promise<Map<string, "alive" | "dead" | "unknown">>;
  /** Removes the scratch directory, then closes the shells and the connection. */
  close(): Promise<void>;
}

/** The messages of virsh's `error: ...` lines, joined; undefined when it printed none. */
export function virshError(stderr: string): string | undefined {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => l.startsWith("error:"));
  if (!errors.length) return undefined;
  return errors.map((l) => l.slice("error:".length).trim()).join("; ");
}

/**
 * Creates the host client: a pool of long-lived shells on one transport
 * (one SSH connection), within a concurrency limit and an optional rate.
 */
export function createLibvirtHost(options: LibvirtHostOptions): LibvirtHost {
  const { transport, uri, logger } = options;
  const size = options.sessions ?? 4;
  const limiter: BackendLimiter = createBackendLimiter({
    concurrency: size,
    ...(options.qps ? { qps: options.qps } : {}),
  });
  const idle: CommandSession[] = [];
  const lease = createScratchLease({
    transport,
    ...(options.scratchRoot ? { root: options.scratchRoot } : {}),
    ...(logger ? { logger } : {}),
  });

  /** Kills of aborted commands' shells under way; `close` waits for them. */
  const kills = new Set<Promise<void>>();
  /** Terminals open (see `openTerminal`), hung up by `close`. */
  const terminals = new Set<ShellPipes>();
  /** TCP connections open (see `openTcp`), ended by `close`. */
  const tunnels = new Set<Duplex>();
  /** Followed programs (see `follow`), ended by `close`. */
  const followers = new Set<AbortController>();
  let closed = false;

  /**
   * Ends an aborted command's shell and all it started on the host, by a
   * shell of its own (the aborted one's channel is closed).
   */
  const killShell = (shell: ShellProcess) => {
    const done: Promise<void> = (async () => {
      const killer = createCommandSession(await transport.openShell());
      try {
        await killer.run(shellCommand(["sh", "-c", killShellScript(shell)]));
      } finally {
        killer.close();
      }
    })()
      .catch((err: unknown) =>
        logger?.warn({ err, shell }, "could not end an aborted command on the host"),
      )
      .finally(() => kills.delete(done));
    kills.add(done);
  };

  const openSession = async (signal?: AbortSignal): Promise<CommandSession> => {
    for (;;) {
      const session = idle.pop();
      if (!session) break;
      if (session.open) return session;
    }
    const pipes = await transport.openShell(signal);
    const session = createCommandSession(pipes, { kill: killShell });
    // Plain messages from every tool, whatever the host's locale.
    await session.run("export LC_ALL=C LANG=C");
    return session;
  };

  const runOnce = async (commandLine: string, signal?: AbortSignal): Promise<CommandResult> => {
    const session = await openSession(signal);
    try {
      const result = await session.run(commandLine, signal);
      idle.push(session);
      return result;
    } catch (err) {
      session.close();
      throw err;
    }
  };

  let changes = 0;
  const run = async (commandLine: string, call: HostCallOptions = {}): Promise<CommandResult> => {
    if (call.idempotent) return runLimited(commandLine, call);
    changes++;
    try {
      return await runLimited(commandLine, call);
    } finally {
      changes++;
    }
  };

  const runLimited = (commandLine: string, call: HostCallOptions): Promise<CommandResult> =>
    limiter.run(async () => {
      try {
        return await runOnce(commandLine, call.signal);
      } catch (err) {
        if (!(err instanceof SessionClosedError)) throw err;
        if (call.idempotent && !call.signal?.aborted) {
          logger?.info("the connection to the host dropped; running the read again");
          try {
            return await runOnce(commandLine, call.signal);
          } catch (again) {
            if (!(again instanceof SessionClosedError)) throw again;
          }
        }
        throw ProviderError.unavailable(
          `the connection to ${transport.description} dropped during the operation`,
          { cause: err },
        );
      }
    }, call.signal);

  const host: LibvirtHost = {
    uri,
    description: `${transport.description} ${uri}`,
    get changes() {
      return changes;
    },

    async virsh(commands, call) {
      if (!commands.length) return [];
      const marker = `@@vrtg${randomBytes(8).toString("hex")}-`;
      const script = commands
        .map(
          ([name, opts], i) =>
            `${virshCommand(name, opts)} ; echo ${marker}${i} ; echo --err ${marker}${i}`,
        )
        .join(" ; ");
      const names = commands.map(([name]) => name);
      const result = await inHostSpan(
        `virsh ${names.join(",")}`,
        { "libvirt.host": transport.description, "libvirt.virsh.commands": names },
        () => run(shellCommand(["virsh", "-q", "-c", uri, script]), call),
      );
      const outcomes: VirshOutcome[] = [];
      let out = result.stdout;
      let err = result.stderr;
      for (let i = 0; i < commands.length; i++) {
        const outEnd = out.indexOf(`${marker}${i}`);
        const errMark = `error: ${marker}${i}\n`;
        const errEnd = err.indexOf(errMark);
        if (outEnd < 0 || errEnd < 0) {
          throw ProviderError.unavailable(
            `virsh on ${transport.description} stopped before command ${i + 1} of ${commands.length}: ${virshError(err) ?? (err.trim() || `exit status ${result.exitCode}`)}`,
          );
        }
        outcomes.push({ out: out.slice(0, outEnd), error: virshError(err.slice(0, errEnd)) });
        out = out.slice(outEnd + `${marker}${i}`.length);
        err = err.slice(errEnd + errMark.length);
      }
      return outcomes;
    },

    async virshOk(commands, call) {
      const outcomes = await host.virsh(commands, call);
      return outcomes.map((o, i) => {
        if (o.error === undefined) return o.out;
        const command = commands[i]?.[0] ?? "virsh";
        if (/failed to get domain|Domain not found|no domain with matching/i.test(o.error)) {
          throw ProviderError.notFound(`${command}: ${o.error}`);
        }
        throw ProviderError.internal(`virsh ${command} failed: ${o.error}`);
      });
    },

    async exec(argv, call) {
      return inHostSpan(
        `exec ${argv[0] ?? ""}`,
        { "libvirt.host": transport.description, "process.executable.name": argv[0] ?? "" },
        () => run(shellCommand(argv), call),
      );
    },

    async follow(argv, onLine, signal) {
      const stop = new AbortController();
      const end = () => stop.abort();
      signal.addEventListener("abort", end, { once: true });
      followers.add(stop);
      try {
        if (signal.aborted || closed) return;
        const pipes = await transport.openShell(stop.signal);
        let shell: ShellProcess | undefined;
        const killOnStop = () => {
          pipes.close();
          if (shell) killShell(shell);
        };
        stop.signal.addEventListener("abort", killOnStop, { once: true });
        try {
          // The shell reports its PID and process group (field 5 of /proc/PID/stat), then
          // becomes the program: the group to end is the program's.
          pipes.stdin.write(
            `export LC_ALL=C LANG=C; exec 2>/dev/null; vrtg_stat=; read -r vrtg_stat </proc/$$/stat; ` +
              `vrtg_stat=\${vrtg_stat##*") "}; set -- $vrtg_stat; echo "$$ $3"; exec ${shellCommand(argv)}\n`,
          );
          const lines = createInterface({ input: pipes.stdout, crlfDelay: Infinity });
          for await (const line of lines) {
            if (!shell) {
              const [pid, group] = line.split(" ").map(Number);
              if (pid && group) shell = { pid, group };
              continue;
            }
            onLine(line);
          }
          if (stop.signal.aborted) return;
          throw ProviderError.unavailable(
            `${argv[0] ?? "the program"} on ${transport.description} ended`,
          );
        } finally {
          stop.signal.removeEventListener("abort", killOnStop);
          pipes.close();
        }
      } finally {
        signal.removeEventListener("abort", end);
        followers.delete(stop);
      }
    },

    async openTerminal(argv, signal) {
      if (closed) throw ProviderError.unavailable(`${transport.description} is closed`);
      const pipes = await transport.openTerminal(argv, signal);
      terminals.add(pipes);
      return {
        ...pipes,
        close: () => {
          terminals.delete(pipes);
          pipes.close();
        },
      };
    },

    async openTcp(address, port, signal) {
      if (closed) throw ProviderError.unavailable(`${transport.description} is closed`);
      const tunnel = await transport.openTcp(address, port, signal);
      tunnels.add(tunnel);
      tunnel.once("close", () => tunnels.delete(tunnel));
      return tunnel;
    },

    writeFile(path, data, signal) {
      return inHostSpan("sftp write", { "libvirt.host": transport.description }, () =>
        limiter.run(() => transport.writeFile(path, data, signal), signal),
      );
    },

    // Outside the command limiter: chunks are the data path, and the SFTP
    // channel is not one of the shells the limiter shares out.
    openFile(path, mode, signal) {
      return transport.openFile(path, mode, signal);
    },

    scratchDir(signal) {
      if (lease.current) return lease.acquire(signal);
      return inHostSpan("scratch lease", { "libvirt.host": transport.description }, () =>
        lease.acquire(signal),
      );
    },

    async scratchOwner(signal) {
      return ownerOf(await lease.acquire(signal));
    },

    machine(signal) {
      return lease.machine(signal);
    },

    async ownerStates(owners, signal) {
      const valid = owners.filter(isOwner);
      if (!valid.length) return parseOwners("", owners);
      const result = await host.exec(["sh", "-c", ownersScript, "sh", ...valid], {
        signal,
        idempotent: true,
      });
      return parseOwners(result.stdout, owners);
    },

    async close() {
      closed = true;
      for (const follower of followers) follower.abort();
      for (const terminal of terminals) terminal.close();
      terminals.clear();
      for (const tunnel of tunnels) tunnel.destroy();
      await lease.close();
      for (const session of idle.splice(0)) session.close();
      // An aborted command (a drain aborts the tasks) is ended on the host before the connection goes.
      await Promise.all(kills);
      await transport.close();
    },
  };
  return host;
}
