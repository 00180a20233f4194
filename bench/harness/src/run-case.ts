import { fileURLToPath } from "node:url";
import type { BenchOptions } from "./bench-options.js";
import { lastJsonLine } from "./child-output.js";
import type { ChildProcesses } from "./child-processes.js";
import type { BenchProtocol } from "./describe-call.js";
import type { CaseFigures } from "./latency-stats.js";
import type { RunningServer, ServerName } from "./start-servers.js";

/** One measured combination and its figures. */
export interface CaseResult extends CaseFigures {
  server: ServerName;
  protocol: BenchProtocol;
  inflight: number;
  /** The round it ran in, from 1: runs of one round are neighbours in time. */
  round: number;
}

const loadWorker = fileURLToPath(new URL("./load-worker.js", import.meta.url));

/**
 * Measures one server, protocol and concurrency from a fresh load process,
 * so the client has its own core's worth of event loop and a new connection.
 *
 * @throws Error when the load process fails (a call failed, or it crashed).
 */
export async function runCase(
  children: ChildProcesses,
  server: RunningServer,
  protocol: BenchProtocol,
  inflight: number,
  options: BenchOptions,
  round: number,
): Promise<CaseResult> {
  const child = children.startNode(
    "load",
    loadWorker,
    [
      ...["--url", server.url, "--protocol", protocol, "--inflight", String(inflight)],
      ...["--duration-ms", String(options.durationMs), "--warmup-ms", String(options.warmupMs)],
      ...["--max-calls", String(options.maxCalls), "--server-pid", String(server.pid)],
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const figures = await lastJsonLine<CaseFigures>(
    child,
    `load against ${server.name} over ${protocol}`,
  );
  return {
    server: server.name,
    protocol,
    inflight,
    round,
    ...figures,
  };
}
