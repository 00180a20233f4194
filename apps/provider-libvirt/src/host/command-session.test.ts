import { execFile } from "node:child_process";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "@jest/globals";
import { type ShellProcess, createCommandSession, killShellScript } from "./command-session.js";
import { createLocalTransport } from "./local-transport.js";

const run = promisify(execFile);

describe("killShellScript", () => {
  it("kills the process group of a shell that leads it, TERM then KILL", () => {
    const script = killShellScript({ pid: 4242, group: 4242 });
    expect(script).toMatch(/^kill -TERM -4242 /);
    expect(script).toContain("kill -KILL -4242");
  });

  it("ends only the shell and its children when the shell does not lead its group", () => {
    expect(killShellScript({ pid: 4242, group: 17 })).toBe(
      "pkill -TERM -P 4242; kill -TERM 4242; true",
    );
  });

  it("refuses what is not a shell's process", () => {
    expect(() => killShellScript({ pid: 1, group: 1 })).toThrow(RangeError);
    expect(() => killShellScript({ pid: Number.NaN, group: 5 })).toThrow(RangeError);
  });
});

describe("a command session", () => {
  it("reports its shell's process group, and an aborted command ends the session and kills it", async () => {
    const transport = createLocalTransport();
    const killed: ShellProcess[] = [];
    const session = createCommandSession(await transport.openShell(), {
      kill: (shell) => {
        killed.push(shell);
        void run("sh", ["-c", killShellScript(shell)]);
      },
    });
    expect((await session.run("echo ready")).stdout).toBe("ready\n");
    // A detached local shell leads its own process group.
    expect(session.process?.pid).toBeGreaterThan(1);
    expect(session.process?.group).toBe(session.process?.pid);

    const abort = new AbortController();
    const long = session.run("sleep 30", abort.signal);
    const queued = session.run("echo never");
    const started = Date.now();
    abort.abort(new Error("stop"));
    await expect(long).rejects.toThrow("stop");
    await expect(queued).rejects.toThrow("a command of the session was aborted");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(session.open).toBe(false);
    expect(killed).toEqual([session.process]);
    await transport.close();
  });

  it("rejects a command whose signal aborted already, without running it", async () => {
    const transport = createLocalTransport();
    const session = createCommandSession(await transport.openShell());
    await expect(session.run("echo no", AbortSignal.abort(new Error("late")))).rejects.toThrow(
      "late",
    );
    expect(session.open).toBe(true);
    expect((await session.run("echo yes")).stdout).toBe("yes\n");
    session.close();
    await transport.close();
  });

  it("reads an answer that arrives a character at a time, its markers split across chunks", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const session = createCommandSession({
      stdin,
      stdout,
      stderr: new PassThrough(),
      close: () => stdout.end(),
    });
    let written = "";
    stdin.on("data", (d: Buffer) => (written += d.toString()));
    const answer = session.run("big");
    await new Promise((resolve) => setImmediate(resolve));
    const token = /'(@@vrtg-[0-9a-f]+)'/.exec(written)?.[1] ?? "";
    const body = "x".repeat(5000);
    for (const c of `${token}+42:42\n${body}\n${token}:3\nwarning\n${token}.\n`) stdout.write(c);
    await expect(answer).resolves.toEqual({ stdout: body, stderr: "warning", exitCode: 3 });
    expect(session.process).toEqual({ pid: 42, group: 42 });
    session.close();
  });
});
