import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * Passes a child's output on to our stderr, line by line and prefixed with
 * its name, so a server's warnings show up beside the report. `onLine` sees
 * each line of standard output first and says whether to keep it to itself.
 */
export function forwardOutput(
  child: ChildProcess,
  name: string,
  onLine: (line: string) => "consumed" | "forward" = () => "forward",
): void {
  const forward = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  if (child.stdout) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (onLine(line) === "forward") forward(line);
    });
  }
  if (child.stderr) createInterface({ input: child.stderr }).on("line", forward);
}

/**
 * Resolves with the value `watch` settles with; rejects when the child exits
 * first or `timeoutMs` passes, so a server that fails to start fails the run
 * instead of hanging it.
 */
export function untilReady<T>(
  child: ChildProcess,
  name: string,
  timeoutMs: number,
  watch: (settle: (value: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (${signal ?? `code ${code}`})`));
    };
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      reject(new Error(`${name} was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once("exit", onExit);
    watch((value) => {
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve(value);
    });
  });
}

/**
 * Waits for a load process to exit and returns the JSON of its last line of
 * standard output, its figures.
 *
 * @throws Error naming `what` when it fails or prints nothing.
 */
export async function lastJsonLine<T>(child: ChildProcess, what: string): Promise<T> {
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const line = output.trim().split("\n").at(-1);
  if (code !== 0 || !line) throw new Error(`${what} failed (exit ${code})`);
  return JSON.parse(line) as T;
}
