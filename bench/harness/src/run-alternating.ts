import { fileURLToPath } from "node:url";
import type { SlicePair } from "./alternate.js";
import { lastJsonLine } from "./child-output.js";
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
export function runAlternating(
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
  return lastJsonLine<SlicePair[]>(
    child,
    `alternating load of ${a.name} and ${b.name} over ${protocol}`,
  );
}
