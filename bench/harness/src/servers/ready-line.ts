import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

// A server process binds port 0 and prints this line, so the runner never races for a port.
const readyPrefix = "listening on 127.0.0.1:";

/**
 * Tells the runner which port the server took. From then on SIGTERM exits
 * the process normally, so that `--cpu-prof` writes its profile.
 */
export function announcePort(port: number): void {
  process.once("SIGTERM", () => process.exit(0));
  process.stdout.write(`${readyPrefix}${port}\n`);
}

/** The port in a server's ready line, or undefined for any other line. */
export function portOfReadyLine(line: string): number | undefined {
  return line.startsWith(readyPrefix) ? Number(line.slice(readyPrefix.length)) : undefined;
}

/**
 * The serialized DescribeResponse a server answers with, from `--response FILE`:
 * the bytes the mock returned, so every server sends the same message.
 *
 * @throws Error when the flag is missing or the file cannot be read.
 */
export function readResponseBytes(argv: string[] = process.argv.slice(2)): Uint8Array {
  const { values } = parseArgs({ args: argv, options: { response: { type: "string" } } });
  if (!values.response) throw new Error("--response FILE is required");
  return readFileSync(values.response);
}
