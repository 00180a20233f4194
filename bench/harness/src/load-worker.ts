/**
 * The load generator's process: one case, one connection. It runs apart from
 * every server so the two never share an event loop; it prints the case's
 * figures as one JSON line on standard output.
 */
import { parseArgs } from "node:util";
import { type BenchProtocol, benchVmId, createDescribeClient } from "./describe-call.js";
import { type CaseFigures, summarise } from "./latency-stats.js";
import { runLoad } from "./load.js";
import { readCpuMs } from "./server-cpu.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    protocol: { type: "string" },
    inflight: { type: "string" },
    "duration-ms": { type: "string" },
    "warmup-ms": { type: "string" },
    "max-calls": { type: "string" },
    "server-pid": { type: "string" },
  },
  strict: true,
});
const protocol = values.protocol as BenchProtocol;
if (!values.url || (protocol !== "grpc" && protocol !== "connect")) {
  throw new Error("load-worker: --url and --protocol grpc|connect are required");
}
const inflight = Number(values.inflight ?? 1);
const maxCalls = Number(values["max-calls"] ?? 200_000);
const serverPid = values["server-pid"] === undefined ? undefined : Number(values["server-pid"]);
const serverCpuMs = () => (serverPid === undefined ? undefined : readCpuMs(serverPid));

const { client, close } = createDescribeClient(values.url, protocol);
try {
  const first = await client.describe({ vmId: benchVmId });
  if (!first.exists) throw new Error(`${values.url} does not know ${benchVmId}`);
  const call = () => client.describe({ vmId: benchVmId });
  await runLoad(call, { inflight, durationMs: Number(values["warmup-ms"] ?? 1000), maxCalls });
  const cpuBefore = serverCpuMs();
  const sample = await runLoad(call, {
    inflight,
    durationMs: Number(values["duration-ms"] ?? 3000),
    maxCalls,
  });
  const cpuAfter = serverCpuMs();
  const serverCpuUsPerCall =
    cpuBefore === undefined || cpuAfter === undefined || sample.latenciesMs.length === 0
      ? null
      : ((cpuAfter - cpuBefore) * 1000) / sample.latenciesMs.length;
  const figures: CaseFigures = {
    ...summarise(sample.latenciesMs, sample.elapsedMs),
    serverCpuUsPerCall,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  close();
}
