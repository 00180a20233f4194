import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";

/** What one command printed and how it ended. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** The pipes of a running `sh` that reads commands on standard input. */
export interface ShellPipes {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Ends the shell and its pipes. */
  close(): void;
}

/** The session's shell on the host: its PID and its process group, which its commands run in. */
export interface ShellProcess {
  pid: number;
  group: number;
}

/** Options of `createCommandSession`. */
export interface CommandSessionOptions {
  /**
   * Ends the shell's processes on the host (by another channel: this one is
   * closed by then). Called when a command is aborted, with the shell's PID
   * and process group as the shell reported them at start; not called when
   * the shell could not report them (no /proc).
   */
  kill?(shell: ShellProcess): void;
}

/** A long-lived shell that runs one command line after another. */
export interface CommandSession {
  /**
   * Runs a command line (already quoted: see shellCommand) with standard
   * input from /dev/null, and resolves with what it printed and its exit
   * status. Calls queue in order; commands may be written before earlier
   * ones finish (pipelining).
   *
   * When `signal` aborts before the answer, the session ends: the call
   * rejects with the signal's reason at once, the shell's pipes are closed,
   * `options.kill` ends what runs on the host, and every other command
   * written to it fails with SessionClosedError.
   *
   * @throws SessionClosedError when the shell ends before the command does;
   * the signal's reason when it aborts.
   */
  run(commandLine: string, signal?: AbortSignal): Promise<CommandResult>;
  /** The shell's PID and process group, once it has reported them. */
  readonly process: ShellProcess | undefined;
  /** Commands written and not yet answered. */
  readonly pending: number;
  /** False once the shell's pipes ended. */
  readonly open: boolean;
  close(): void;
}

/** Why a signal aborted, as the Error it is (AbortSignal types it as any). */
function abortReason(signal: AbortSignal | undefined): Error {
  return (signal?.reason as Error | undefined) ?? new Error("aborted");
}

/** The shell of a session ended (the connection dropped, or it was closed). */
export class SessionClosedError extends Error {
  override readonly name = "SessionClosedError";
}

interface Waiter {
  resolve(result: CommandResult): void;
  reject(error: Error): void;
}

/**
 * Runs commands through one shell, framing each answer with a random token
 * the commands cannot guess: after a command, the shell prints the token and
 * the exit status on standard output, then copies the command's standard
 * error (kept in an unlinked temporary file) framed by the token again.
 *
 * At start the shell reports its PID and process group. Commands run in the
 * shell's process group: sshd starts an exec channel's command in a session
 * of its own (and the local transport a detached shell), so the group holds
 * the shell and everything its commands started, and killing it (see
 * `killShellScript`) ends them all.
 */
export function createCommandSession(
  pipes: ShellPipes,
  options: CommandSessionOptions = {},
): CommandSession {
  const token = `@@vrtg-${randomBytes(12).toString("hex")}`;
  const endOut = `\n${token}:`;
  const endErr = `\n${token}.\n`;
  const started = `${token}+`;
  const waiters: Waiter[] = [];
  let buffer = "";
  let open = true;
  /** Until the first line is read: whether the shell still has to report its process. */
  let reporting = true;
  let shell: ShellProcess | undefined;

  // Each command's standard error goes to a file the shell opens once as fd 7
  // and unlinks at once: nothing is left in the host's /tmp even when the
  // shell is killed. /dev/fd/7 reopens it, truncated for each command.
  pipes.stdin.write(
    `vrtg_err=$(mktemp) || exit 1; exec 7>"$vrtg_err"; rm -f "$vrtg_err"; exec 2>/dev/null\n` +
      // Field 5 of /proc/PID/stat, after the parenthesised command name, is the process group.
      `vrtg_stat=; read -r vrtg_stat </proc/$$/stat; vrtg_stat=\${vrtg_stat##*") "}; ` +
      `set -- $vrtg_stat; printf '%s%s:%s\\n' '${started}' "$$" "$3"; set --\n`,
  );

  const fail = (error: Error) => {
    if (!open) return;
    open = false;
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  };
  /** Ends the session: its waiters fail with `error`, and its pipes close. */
  const end = (error: Error) => {
    fail(error);
    pipes.close();
  };

  const parse = () => {
    if (reporting) {
      const end = buffer.indexOf("\n");
      if (end < 0) return;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      reporting = false;
      const match = /^(\d+):(\d+)$/.exec(
        line.startsWith(started) ? line.slice(started.length) : "",
      );
      if (match) shell = { pid: Number(match[1]), group: Number(match[2]) };
    }
    for (;;) {
      const waiter = waiters[0];
      if (!waiter) return;
      const outEnd = buffer.indexOf(endOut);
      if (outEnd < 0) return;
      const statusEnd = buffer.indexOf("\n", outEnd + endOut.length);
      if (statusEnd < 0) return;
      const errEnd = buffer.indexOf(endErr, statusEnd);
      if (errEnd < 0) return;
      const stdout = buffer.slice(0, outEnd);
      const exitCode = Number(buffer.slice(outEnd + endOut.length, statusEnd));
      const stderr = buffer.slice(statusEnd + 1, errEnd);
      buffer = buffer.slice(errEnd + endErr.length);
      waiters.shift();
      waiter.resolve({ stdout, stderr, exitCode });
    }
  };

  // A large answer arrives in many chunks: they are kept apart and joined only
  // once an answer's last marker has arrived (looked for in each new chunk and
  // the tail of the one before), so its size is copied and searched once, not
  // once per chunk.
  let chunks: string[] = [];
  let tail = "";
  pipes.stdout.setEncoding("utf8");
  pipes.stdout.on("data", (chunk: string) => {
    const seen = tail + chunk;
    tail = seen.slice(-(endErr.length - 1));
    chunks.push(chunk);
    if (!reporting && !seen.includes(endErr)) return;
    buffer += chunks.join("");
    chunks = [];
    parse();
  });
  pipes.stdout.on("end", () => fail(new SessionClosedError("the shell ended")));
  pipes.stdout.on("error", (err: Error) =>
    fail(new SessionClosedError(`the shell's output failed: ${err.message}`)),
  );
  pipes.stdin.on("error", (err: Error) =>
    fail(new SessionClosedError(`the shell's input failed: ${err.message}`)),
  );
  pipes.stderr.resume();

  return {
    run(commandLine, signal) {
      if (!open) return Promise.reject(new SessionClosedError("the shell has ended"));
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      return new Promise<CommandResult>((resolve, reject) => {
        const onAbort = () => {
          const i = waiters.indexOf(waiter);
          if (i < 0) return;
          waiters.splice(i, 1);
          reject(abortReason(signal));
          end(new SessionClosedError("a command of the session was aborted"));
          if (shell) options.kill?.(shell);
        };
        const waiter: Waiter = {
          resolve: (result) => {
            signal?.removeEventListener("abort", onAbort);
            resolve(result);
          },
          reject: (error) => {
            signal?.removeEventListener("abort", onAbort);
            reject(error);
          },
        };
        waiters.push(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
        // The command's output may lack a final newline: endOut starts with one,
        // and the one printf adds is not part of the output (see parse).
        pipes.stdin.write(
          `{ ${commandLine}\n} </dev/null 2>/dev/fd/7; ` +
            `printf '\\n%s:%d\\n' '${token}' $?; cat /dev/fd/7; printf '\\n%s.\\n' '${token}'\n`,
        );
      });
    },
    get process() {
      return shell;
    },
    get pending() {
      return waiters.length;
    },
    get open() {
      return open;
    },
    close() {
      end(new SessionClosedError("the session was closed"));
    },
  };
}

/**
 * A script for `sh -c` that ends a session's shell and everything it
 * started: its process group, with TERM and, if anything is left after two
 * seconds, KILL. A shell that does not lead its group (a shell command that
 * forks first) is ended with its children only, never the group of others.
 */
export function killShellScript(shell: ShellProcess): string {
  const { pid, group } = shell;
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(group) || pid <= 1 || group <= 1)
    throw new RangeError(`not a shell process: ${pid}:${group}`);
  if (pid !== group) return `pkill -TERM -P ${pid}; kill -TERM ${pid}; true`;
  return (
    `kill -TERM -${group} 2>/dev/null || exit 0; i=0; ` +
    `while kill -0 -${group} 2>/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; ` +
    `kill -KILL -${group} 2>/dev/null; true`
  );
}
