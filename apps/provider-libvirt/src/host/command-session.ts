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

/** A long-lived shell that runs one command line after another. */
export interface CommandSession {
  /**
   * Runs a command line (already quoted: see shellCommand) with standard
   * input from /dev/null, and resolves with what it printed and its exit
   * status. Calls queue in order; commands may be written before earlier
   * ones finish (pipelining).
   *
   * @throws SessionClosedError when the shell ends before the command does.
   */
  run(commandLine: string): Promise<CommandResult>;
  /** Commands written and not yet answered. */
  readonly pending: number;
  /** False once the shell's pipes ended. */
  readonly open: boolean;
  close(): void;
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
 */
export function createCommandSession(pipes: ShellPipes): CommandSession {
  const token = `@@vrtg-${randomBytes(12).toString("hex")}`;
  const endOut = `\n${token}:`;
  const endErr = `\n${token}.\n`;
  const waiters: Waiter[] = [];
  let buffer = "";
  let open = true;

  // Each command's standard error goes to a file the shell opens once as fd 7
  // and unlinks at once: nothing is left in the host's /tmp even when the
  // shell is killed. /dev/fd/7 reopens it, truncated for each command.
  pipes.stdin.write(
    `vrtg_err=$(mktemp) || exit 1; exec 7>"$vrtg_err"; rm -f "$vrtg_err"; exec 2>/dev/null\n`,
  );

  const fail = (error: Error) => {
    if (!open) return;
    open = false;
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  };

  const parse = () => {
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

  pipes.stdout.setEncoding("utf8");
  pipes.stdout.on("data", (chunk: string) => {
    buffer += chunk;
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
    run(commandLine) {
      if (!open) return Promise.reject(new SessionClosedError("the shell has ended"));
      return new Promise<CommandResult>((resolve, reject) => {
        waiters.push({ resolve, reject });
        // The command's output may lack a final newline: endOut starts with one,
        // and the one printf adds is not part of the output (see parse).
        pipes.stdin.write(
          `{ ${commandLine}\n} </dev/null 2>/dev/fd/7; ` +
            `printf '\\n%s:%d\\n' '${token}' $?; cat /dev/fd/7; printf '\\n%s.\\n' '${token}'\n`,
        );
      });
    },
    get pending() {
      return waiters.length;
    },
    get open() {
      return open;
    },
    close() {
      fail(new SessionClosedError("the session was closed"));
      pipes.close();
    },
  };
}
