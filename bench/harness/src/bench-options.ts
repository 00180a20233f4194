import { parseArgs } from "node:util";
import { parseDuration } from "@virtrigaud/contracts";

/** What one benchmark run measures and for how long. */
export interface BenchOptions {
  /** Measured time per case. Default: 3000 ms. */
  durationMs: number;
  /** Unmeasured calls before each case, so JIT and connections are warm. Default: 1000 ms. */
  warmupMs: number;
  /** The most calls one case makes, whatever the time left. Default: 200000. */
  maxCalls: number;
  /** Calls in flight at once; one case per level. Default: [1, 64]. */
  inflight: number[];
  /** Times every case is run, interleaved; each case reports its median run. Default: 3. */
  rounds: number;
  /** Each slice of the alternating comparison. Default: 250 ms. */
  sliceMs: number;
  /** Pairs of slices, harness then bare or bare then harness, per protocol and concurrency. Default: 120. */
  pairs: number;
  /** Where to write the figures as JSON; undefined writes none. */
  jsonFile: string | undefined;
  /** Where the server processes write CPU profiles (`--cpu-prof`); undefined profiles none. */
  profDir: string | undefined;
}

export const benchUsage = `Usage: npm run bench -w @virtrigaud/bench-harness -- [flags]

  --duration DURATION   measured time per case, for example 3s (default 3s)
  --warmup DURATION     unmeasured warm-up per case (default 1s)
  --max-calls N         stop a case after N calls even if time is left (default 200000)
  --inflight N[,N...]   calls in flight at once, one case per level (default 1,64)
  --rounds N            run every case N times, interleaved, and report the median run (default 3)
  --slice DURATION      slice of the alternating comparison that judges the harness (default 250ms)
  --pairs N             pairs of slices per protocol and concurrency; a verdict needs 20 (default 120)
  --json FILE           also write the figures to FILE
  --prof DIR            write a CPU profile of each server process into DIR
  -h, --help            show this help
`;

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`--${name} must be a positive integer, got ${text}`);
  }
  return value;
}

/**
 * Parses the benchmark's flags; undefined means help was asked for.
 *
 * @throws RangeError or TypeError naming the flag that does not parse.
 */
export function parseBenchOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string", default: "3s" },
      warmup: { type: "string", default: "1s" },
      "max-calls": { type: "string", default: "200000" },
      inflight: { type: "string", default: "1,64" },
      rounds: { type: "string", default: "3" },
      slice: { type: "string", default: "250ms" },
      pairs: { type: "string", default: "120" },
      json: { type: "string" },
      prof: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const durationMs = parseDuration(values.duration);
  if (durationMs <= 0) throw new RangeError("--duration must be more than zero");
  const sliceMs = parseDuration(values.slice);
  if (sliceMs <= 0) throw new RangeError("--slice must be more than zero");
  return {
    durationMs,
    warmupMs: parseDuration(values.warmup),
    maxCalls: positiveInteger("max-calls", values["max-calls"]),
    inflight: values.inflight.split(",").map((n) => positiveInteger("inflight", n.trim())),
    rounds: positiveInteger("rounds", values.rounds),
    sliceMs,
    pairs: positiveInteger("pairs", values.pairs),
    jsonFile: values.json,
    profDir: values.prof,
  };
}
