import { readCpuMs } from "./server-cpu.js";

/** Bounds of one load run. */
export interface LoadOptions {
  /** Calls in flight at once; 1 means one call after another. */
  inflight: number;
  /** No call starts after this much time. */
  durationMs: number;
  /** No call starts once this many have started, whatever the time left. */
  maxCalls: number;
}

/** What one load run saw: each finished call's latency, and the wall time of the run. */
export interface LoadSample {
  latenciesMs: Float64Array;
  elapsedMs: number;
}

/**
 * Keeps `inflight` calls going until the time or the call budget runs out,
 * timing each. A closed loop: each lane starts its next call when the last
 * one answers, so throughput is what the server sustains, not what is offered.
 *
 * @throws whatever `call` throws: a failed call invalidates the run.
 */
export async function runLoad(
  call: () => Promise<unknown>,
  options: LoadOptions,
): Promise<LoadSample> {
  const latencies = new Float64Array(options.maxCalls);
  let started = 0;
  let finished = 0;
  const start = performance.now();
  const deadline = start + options.durationMs;
  const lane = async () => {
    while (started < options.maxCalls && performance.now() < deadline) {
      started++;
      const callStart = performance.now();
      await call();
      latencies[finished++] = performance.now() - callStart;
    }
  };
  await Promise.all(Array.from({ length: options.inflight }, lane));
  // The run ends when the last call answers, so the tail after the deadline counts.
  return { latenciesMs: latencies.subarray(0, finished), elapsedMs: performance.now() - start };
}

/**
 * `runLoad`, with the CPU time (ms) the server process `serverPid` spent
 * meanwhile; null where it is unknown (no pid, no /proc).
 */
export async function runLoadWithServerCpu(
  call: () => Promise<unknown>,
  options: LoadOptions,
  serverPid: number | undefined,
): Promise<{ sample: LoadSample; serverCpuMs: number | null }> {
  const before = serverPid === undefined ? undefined : readCpuMs(serverPid);
  const sample = await runLoad(call, options);
  const after = serverPid === undefined ? undefined : readCpuMs(serverPid);
  return {
    sample,
    serverCpuMs: before === undefined || after === undefined ? null : after - before,
  };
}
