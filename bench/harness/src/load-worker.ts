/**
 * The load generator's process: one case, one connection. It runs apart from
 * every server so the two never share an event loop; it prints the case's
 * figures as one JSON line on standard output.
 */
import { parseArgs } from "node:util";
import { type BenchProtocol, benchVmId, createDescribeClient } from "./describe-call.js";
import { type CaseFigures, summarise } from "./latency-stats.js";
import { runLoad, runLoadWithServerCpu } from "./load.js";

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

const { client, close } = createDescribeClient(values.url, protocol);
try {
  const first = await client.describe({ vmId: benchVmId });
  if (!first.exists) throw new Error(`${values.url} does not know ${benchVmId}`);
  const call = () => client.describe({ vmId: benchVmId });
  await runLoad(call, { inflight, durationMs: Number(values["warmup-ms"] ?? 1000), maxCalls });
  const { sample, serverCpuMs } = await runLoadWithServerCpu(
    call,
    { inflight, durationMs: Number(values["duration-ms"] ?? 3000), maxCalls },
    serverPid,
  );
  const serverCpuUsPerCall =
    serverCpuMs === null || sample.latenciesMs.length === 0
      ? null
      : (serverCpuMs * 1000) / sample.latenciesMs.length;
  const figures: CaseFigures = {
    ...summarise(sample.latenciesMs, sample.elapsedMs),
    serverCpuUsPerCall,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  close();
}
