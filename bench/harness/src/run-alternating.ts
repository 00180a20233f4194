import { fileURLToPath } from "node:url";
import type { SlicePair } from "./alternate.js";
import type { ChildProcesses } from "./child-processes.js";
import type { BenchProtocol } from "./describe-call.js";
import type { RunningServer } from "./start-servers.js";

const alternateWorker = fileURLToPath(new URL("./alternate-worker.js", import.meta.url));

/** How an alternating case runs. */
export interface AlternatingOptions {
  inflight: number;
  sliceMs: number;
  pairs: number;
  warmupMs: number;
}

/**
 * Measures `a` against `b` in alternating slices from one fresh load process.
 *
 * @throws Error when the load process fails (a call failed, or it crashed).
 */
export async function runAlternating(
  children: ChildProcesses,
  a: RunningServer,
  b: RunningServer,
  protocol: BenchProtocol,
  options: AlternatingOptions,
): Promise<SlicePair[]> {
  const child = children.startNode(
    "load",
    alternateWorker,
    [
      ...["--url-a", a.url, "--pid-a", String(a.pid), "--url-b", b.url, "--pid-b", String(b.pid)],
      ...["--protocol", protocol, "--inflight", String(options.inflight)],
      ...["--slice-ms", String(options.sliceMs), "--pairs", String(options.pairs)],
      ...["--warmup-ms", String(options.warmupMs)],
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const line = output.trim().split("\n").at(-1);
  if (code !== 0 || !line) {
    throw new Error(
      `alternating load of ${a.name} and ${b.name} over ${protocol} failed (exit ${code})`,
    );
  }
  return JSON.parse(line) as SlicePair[];
}
