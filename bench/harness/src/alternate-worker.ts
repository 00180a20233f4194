/**
 * The load process of an alternating case: two servers, one connection each,
 * measured in turn for a short slice each, many times over, so that each
 * pair of slices is a comparison a fraction of a second apart. On a shared
 * machine whose speed drifts by tens of percent from one second to the next,
 * that pairing is what lets a difference of a few percent show. Prints the
 * pairs as one JSON line on standard output.
 */
import { parseArgs } from "node:util";
import { type BenchProtocol, benchVmId, createDescribeClient } from "./describe-call.js";
import { type SlicePair, type SliceFigures, sliceOrder } from "./alternate.js";
import { summarise } from "./latency-stats.js";
import { runLoad } from "./load.js";
import { readCpuMs } from "./server-cpu.js";

const { values } = parseArgs({
  options: {
    "url-a": { type: "string" },
    "pid-a": { type: "string" },
    "url-b": { type: "string" },
    "pid-b": { type: "string" },
    protocol: { type: "string" },
    inflight: { type: "string" },
    "slice-ms": { type: "string" },
    pairs: { type: "string" },
    "warmup-ms": { type: "string" },
  },
  strict: true,
});
const protocol = values.protocol as BenchProtocol;
if (!values["url-a"] || !values["url-b"] || (protocol !== "grpc" && protocol !== "connect")) {
  throw new Error("alternate-worker: --url-a, --url-b and --protocol grpc|connect are required");
}
const inflight = Number(values.inflight ?? 64);
const sliceMs = Number(values["slice-ms"] ?? 250);
const pairCount = Number(values.pairs ?? 40);
const warmupMs = Number(values["warmup-ms"] ?? 1000);
// A slice makes far fewer calls than this; the bound only sizes the latency buffer.
const maxCalls = 200_000;

function side(url: string, pid: string | undefined) {
  const { client, close } = createDescribeClient(url, protocol);
  const call = () => client.describe({ vmId: benchVmId });
  const serverPid = pid === undefined ? undefined : Number(pid);
  /** One slice of load against this server, with the CPU time the server spent in it. */
  const slice = async (durationMs: number): Promise<SliceFigures> => {
    const cpuBefore = serverPid === undefined ? undefined : readCpuMs(serverPid);
    const sample = await runLoad(call, { inflight, durationMs, maxCalls });
    const cpuAfter = serverPid === undefined ? undefined : readCpuMs(serverPid);
    return {
      ...summarise(sample.latenciesMs, sample.elapsedMs),
      serverCpuMs: cpuBefore === undefined || cpuAfter === undefined ? null : cpuAfter - cpuBefore,
    };
  };
  return { call, slice, close };
}

const a = side(values["url-a"], values["pid-a"]);
const b = side(values["url-b"], values["pid-b"]);
try {
  for (const s of [a, b]) {
    const first = await s.call();
    if (!first.exists) throw new Error(`a server does not know ${benchVmId}`);
    await s.slice(warmupMs);
  }
  const pairs: SlicePair[] = [];
  for (let i = 0; i < pairCount; i++) {
    const pair: Partial<SlicePair> = {};
    for (const which of sliceOrder(i)) pair[which] = await (which === "a" ? a : b).slice(sliceMs);
    pairs.push(pair as SlicePair);
  }
  process.stdout.write(`${JSON.stringify(pairs)}\n`);
} finally {
  a.close();
  b.close();
}
