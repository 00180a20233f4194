#!/usr/bin/env node
/**
 * What the provider server harness costs: Describe answered by the full
 * harness (runProvider with a fixed answer), by the whole provider-mock
 * binary, by bare connect-node and by grpc-js, each in its own process,
 * loaded from yet another process.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchOptions, benchUsage, parseBenchOptions } from "./bench-options.js";
import { createChildProcesses } from "./child-processes.js";
import type { BenchProtocol } from "./describe-call.js";
import { summariseCases } from "./case-summary.js";
import { computeOverheads } from "./overhead.js";
import { formatReport } from "./report.js";
import { type CaseResult, runCase } from "./run-case.js";
import { startServers } from "./start-servers.js";
import { runAlternating } from "./run-alternating.js";
import {
  type AlternatingResult,
  pairedCost,
  targetOverheadPercent,
  verdictOf,
} from "./alternate.js";

let options: BenchOptions | undefined;
try {
  options = parseBenchOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${benchUsage}`);
  process.exit(2);
}
if (!options) {
  process.stdout.write(benchUsage);
  process.exit(0);
}

const children = createChildProcesses();
const workDir = mkdtempSync(join(tmpdir(), "virtrigaud-bench-"));
const cleanUp = async () => {
  await children.stopAll();
  rmSync(workDir, { recursive: true, force: true });
};
// Whatever happens, no server outlives the run: Ctrl-C and kill stop exactly our children.
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the servers\n`);
    void cleanUp().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}
process.once("exit", () => children.killAllNow());

try {
  const servers = await startServers(children, workDir, options.profDir);
  for (const s of servers) process.stderr.write(`${s.name}: ${s.url} (pid ${s.pid})\n`);
  const runs: CaseResult[] = [];
  // Rounds run every case once, so a slow spell of the machine hits all servers alike, and
  // every other round runs the servers in reverse order, so a drift of the machine over a
  // round (A B B A) favours neither the harness nor its baseline.
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? servers : [...servers].reverse();
    for (const protocol of ["grpc", "connect"] satisfies BenchProtocol[]) {
      for (const inflight of options.inflight) {
        for (const server of order.filter((s) => s.protocols.includes(protocol))) {
          process.stderr.write(
            `round ${round}/${options.rounds}: ${server.name} over ${protocol}, ${inflight} in flight\n`,
          );
          runs.push(await runCase(children, server, protocol, inflight, options, round));
        }
      }
    }
  }
  // Then the verdict's comparison: the harness and bare connect-node in alternating slices.
  const harness = servers.find((s) => s.name === "harness");
  const bare = servers.find((s) => s.name === "bare-connect");
  if (!harness || !bare) throw new Error("the harness and bare connect-node must both run");
  const alternating: AlternatingResult[] = [];
  for (const protocol of ["grpc", "connect"] satisfies BenchProtocol[]) {
    for (const inflight of options.inflight) {
      process.stderr.write(
        `harness and bare-connect over ${protocol}, ${inflight} in flight: ${options.pairs} pairs of ${options.sliceMs} ms slices\n`,
      );
      const pairs = await runAlternating(children, harness, bare, protocol, {
        ...options,
        inflight,
      });
      const cost = pairedCost(pairs);
      const { sliceMs } = options;
      alternating.push({
        protocol,
        inflight,
        sliceMs,
        cost,
        verdict: verdictOf(cost, inflight),
        pairs,
      });
    }
  }
  process.stdout.write(`${formatReport(options, runs, alternating)}\n`);
  if (options.jsonFile) {
    const figures = {
      options,
      targetOverheadPercent,
      cases: summariseCases(runs),
      runs,
      overheads: computeOverheads(runs).map(({ grpcJs: _, ...o }) => o),
      alternating,
    };
    writeFileSync(options.jsonFile, `${JSON.stringify(figures, null, 2)}\n`);
  }
} catch (err) {
  // After Ctrl-C the load process dies with the servers; that is not a failure to report.
  if (!interrupted) process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
