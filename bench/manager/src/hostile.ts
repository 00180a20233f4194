// The manager under hostile load, bounded in time: idle sockets, watches that
// read at a trickle and oversized requests, all at once, while 1,000 VMs are
// applied and converge against provider-mock. It prints the manager's memory,
// the API's latency throughout (a kept connection and a new one per call),
// what became of each attack, and whether every VM arrived exactly once; then
// SIGTERM with the slow watches still attached, and how long the exit took.
// Exit status 1 when a bound is broken.
import { spawn } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createProviderClient, createServiceClient } from "@virtrigaud/contracts/client";
import {
  ConditionStatus,
  Kind,
  ManagerService,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { fromResource } from "@virtrigaud/manager";
import type { ProbeOutcome } from "./api-probe.js";
import { idleSockets, oversizedBodies, oversizedRequests, slowWatches } from "./attackers.js";
import { applyFleet, applyFleetBase } from "./fleet.js";
import { peakRssMiB, startServer } from "./processes.js";

const { values } = parseArgs({
  options: {
    vms: { type: "string", default: "1000" },
    idle: { type: "string", default: "1000" },
    watches: { type: "string", default: "100" },
    oversized: { type: "string", default: "10" },
    "plain-mib": { type: "string", default: "64" },
    "inflated-mib": { type: "string", default: "1024" },
    "rss-bound-mib": { type: "string", default: "512" },
    "deadline-seconds": { type: "string", default: "300" },
    "drain-timeout": { type: "string", default: "10s" },
  },
});
const n = Number(values.vms);
const rssBoundMiB = Number(values["rss-bound-mib"]);
const deadlineMs = Number(values["deadline-seconds"]) * 1000;
const drainTimeoutMs = Number.parseFloat(values["drain-timeout"] ?? "10") * 1000;

const started = performance.now();
const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
const say = (line: string) => process.stdout.write(`[${elapsed()} s] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Latencies of one kind of probe, and its failures with their messages. */
class Probe {
  readonly ms: number[] = [];
  readonly failures = new Map<string, number>();
  add(ms: number) {
    this.ms.push(ms);
  }
  fail(message: string, at: number) {
    const text = message.slice(0, 120);
    this.failures.set(text, (this.failures.get(text) ?? 0) + 1);
    this.failedAt.push(at);
  }
  /** When the probes that failed were sent, in seconds since probing began. */
  readonly failedAt: number[] = [];
  get failed() {
    return [...this.failures.values()].reduce((a, b) => a + b, 0);
  }
  summary(): string {
    const sorted = [...this.ms].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const f = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(0)} ms`);
    return (
      `${sorted.length} answered, ${this.failed} failed; p50 ${f(at(0.5))}, p99 ${f(at(0.99))}, max ${f(sorted.at(-1))}` +
      (this.failed
        ? ` (${[...this.failures].map(([m, c]) => `${c}x ${m}`).join("; ")}; sent at ${this.failedAt.join(", ")} s into probing)`
        : "")
    );
  }
}

const dir = mkdtempSync(join(tmpdir(), "bench-hostile-"));
const mock = await startServer("mock", []);
const manager = await startServer("manager", [
  "--data",
  join(dir, "data"),
  "--drain-timeout",
  values["drain-timeout"] ?? "10s",
]);
const pid = manager.child.pid ?? 0;
const client = createServiceClient(ManagerService, manager.url, { defaultTimeoutMs: 60_000 });
const problems: string[] = [];
let peakSampled = 0;
const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, rssMiB(pid))), 100);

const kept = new Probe();
const fresh = new Probe();
/** Starts the API probe in a process of its own; the promise settles when it has stopped. */
function startProbe(): { stop(): Promise<void> } {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL("./api-probe.js", import.meta.url)), manager.url],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    const outcome = JSON.parse(line) as ProbeOutcome;
    const probe = outcome.connection === "kept" ? kept : fresh;
    if (outcome.ms !== undefined) probe.add(outcome.ms);
    else probe.fail(outcome.error ?? "", outcome.at);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

/** The manager's event loop delay per scrape of its /metrics, in ms. */
const loopDelay = { max: [] as number[], p99: [] as number[] };
async function scrapeLoopDelay(): Promise<void> {
  try {
    const text = await (await fetch(`${manager.opsUrl}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN) * 1000;
    loopDelay.max.push(value("nodejs_eventloop_delay_max"));
    loopDelay.p99.push(value("nodejs_eventloop_delay_p99"));
  } catch {
    // A scrape the manager did not answer shows in the probes.
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN;

let idle: ReturnType<typeof idleSockets> | undefined;
let probe: ReturnType<typeof startProbe> | undefined;
let stopScraping = () => {};
// Made before the attack: gzip of a GiB takes seconds of CPU, which would load the machine under test.
const bodies = await oversizedBodies(
  Number(values["plain-mib"]) << 20,
  Number(values["inflated-mib"]) << 20,
);
let watches: ReturnType<typeof slowWatches> | undefined;
try {
  await applyFleetBase(client, mock.url);
  probe = startProbe();
  const scraper = setInterval(() => void scrapeLoopDelay(), 1000);
  stopScraping = () => clearInterval(scraper);

  idle = idleSockets(manager.url, Number(values.idle));
  watches = slowWatches(manager.url, Number(values.watches), 1000);
  say(`opened ${values.idle} idle sockets and ${values.watches} slow watches`);
  const oversized = oversizedRequests(manager.url, Number(values.oversized), bodies, 30_000);

  const applyStarted = performance.now();
  await applyFleet([client], n, 64);
  say(`applied ${n} VMs in ${((performance.now() - applyStarted) / 1000).toFixed(1)} s`);
  const outcomes = await oversized;
  say(
    `oversized requests: ${outcomes.map((o) => `${o.kind} ${o.answer}`).join(", ")} ` +
      `(${values["plain-mib"]} MiB as is, ${values["inflated-mib"]} MiB inflated from gzip)`,
  );
  if (outcomes.some((o) => o.answer === "HTTP 200"))
    problems.push("an oversized request was accepted");

  let ready = 0;
  for (;;) {
    const { resources } = await client.list({ kind: Kind.VIRTUAL_MACHINE, namespace: "default" });
    ready = resources.filter((r) =>
      (fromResource(r)?.message as VirtualMachine).status?.conditions.some(
        (c) => c.type === "Ready" && c.status === ConditionStatus.TRUE,
      ),
    ).length;
    if (ready === n) break;
    if (performance.now() - started > deadlineMs) {
      problems.push(`only ${ready} of ${n} VMs Ready within the deadline`);
      break;
    }
    await sleep(500);
  }
  say(
    `${ready} of ${n} VMs Ready, ${((performance.now() - applyStarted) / 1000).toFixed(1)} s after the first apply`,
  );

  // Nothing lost, nothing twice: the provider holds each VM exactly once.
  const provider = createProviderClient(mock.url);
  const names: string[] = [];
  let pageToken = "";
  do {
    const page = await provider.listVMs({ pageSize: 1000, pageToken });
    names.push(...page.vms.map((v) => v.name));
    pageToken = page.nextPageToken;
  } while (pageToken);
  provider.close();
  const distinct = new Set(names);
  say(`provider-mock holds ${names.length} VMs, ${distinct.size} distinct`);
  if (names.length !== n || distinct.size !== n)
    problems.push(`the provider holds ${names.length} VMs (${distinct.size} distinct), not ${n}`);
} catch (err) {
  problems.push(`the run failed: ${(err as Error).message}`);
} finally {
  stopScraping();
  await probe?.stop();
  clearInterval(sampler);
  const hwm = peakRssMiB(pid);
  say(
    `attack outcomes: idle sockets ${JSON.stringify(idle?.stats)}, slow watches ${JSON.stringify(watches?.stats)}`,
  );
  say(`API on a kept connection: ${kept.summary()}`);
  say(`API on a new connection per call: ${fresh.summary()}`);
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  say(
    `manager event loop delay over ${loopDelay.max.length} one-second windows: ` +
      `longest ${f(Math.max(...loopDelay.max))}, p99 median ${f(median(loopDelay.p99))}, p99 worst ${f(Math.max(...loopDelay.p99))}`,
  );
  say(
    `manager peak RSS ${hwm.toFixed(0)} MiB (VmHWM; sampled ${peakSampled.toFixed(0)} MiB), bound ${rssBoundMiB} MiB`,
  );
  if (kept.failed || fresh.failed) problems.push("the API did not answer every probe");
  if (hwm > rssBoundMiB) problems.push(`peak RSS ${hwm.toFixed(0)} MiB over the bound`);

  // SIGTERM with the slow watches still attached: the drain must end them.
  client.close();
  const termAt = performance.now();
  manager.child.kill("SIGTERM");
  const exited = await Promise.race([
    new Promise<boolean>((r) => manager.child.once("exit", () => r(true))),
    sleep(drainTimeoutMs + 10_000).then(() => false),
  ]);
  const exitSeconds = (performance.now() - termAt) / 1000;
  say(
    exited
      ? `manager exited ${exitSeconds.toFixed(1)} s after SIGTERM (drain timeout ${drainTimeoutMs / 1000} s)`
      : `manager still running ${exitSeconds.toFixed(1)} s after SIGTERM`,
  );
  if (!exited) {
    problems.push("the manager did not exit after SIGTERM");
    manager.child.kill("SIGKILL");
  }
  idle?.stop();
  watches?.stop();
  await mock.stop();
  rmSync(dir, { recursive: true, force: true });
}

if (problems.length) {
  say(`FAILED: ${problems.join("; ")}`);
  process.exitCode = 1;
} else {
  say("held: every bound");
}
