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
import { runLoadWithServerCpu } from "./load.js";

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
/** A flag the runner always passes (run-alternating.ts); its defaults live in bench-options.ts. */
function required(name: keyof typeof values): string {
  const value = values[name];
  if (value === undefined) throw new Error(`alternate-worker: --${name} is required`);
  return value;
}
const protocol = required("protocol") as BenchProtocol;
if (protocol !== "grpc" && protocol !== "connect") {
  throw new Error("alternate-worker: --protocol must be grpc or connect");
}
const inflight = Number(required("inflight"));
const sliceMs = Number(required("slice-ms"));
const pairCount = Number(required("pairs"));
const warmupMs = Number(required("warmup-ms"));
// A slice makes far fewer calls than this; the bound only sizes the latency buffer.
const maxCalls = 200_000;

function side(url: string, pid: string | undefined) {
  const { client, close } = createDescribeClient(url, protocol);
  const call = () => client.describe({ vmId: benchVmId });
  const serverPid = pid === undefined ? undefined : Number(pid);
  /** One slice of load against this server, with the CPU time the server spent in it. */
  const slice = async (durationMs: number): Promise<SliceFigures> => {
    const load = { inflight, durationMs, maxCalls };
    const { sample, serverCpuMs } = await runLoadWithServerCpu(call, load, serverPid);
    return { ...summarise(sample.latenciesMs, sample.elapsedMs), serverCpuMs };
  };
  return { call, slice, close };
}

const a = side(required("url-a"), values["pid-a"]);
const b = side(required("url-b"), values["pid-b"]);
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
