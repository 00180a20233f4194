import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { defaultProviderCallsInFlight } from "@virtrigaud/manager";
import { ManagerService } from "@virtrigaud/proto/manager";
import { formatSpread, spreadOf } from "@virtrigaud/testbed";
import { applyFleet, applyFleetBase } from "./fleet.js";
import { runLimit } from "./limit.js";
import { limitAtRunSpeed } from "./limit-speed.js";
import { untilAllReady } from "./ready-watch.js";
import { createBenchDatabase, postgresServerUrl } from "./postgres-testbed.js";
import {
  type Server,
  cpuSeconds,
  machineBusySeconds,
  mainThreadSchedule,
  peakRssMiB,
  providerCalls,
  startServer,
} from "./processes.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000" },
    stores: { type: "string", default: "sqlite,postgres,postgres-x3" },
    "no-limit": { type: "boolean", default: false },
    steady: { type: "string", default: "60" },
    "apply-concurrency": { type: "string", default: "64" },
    "drift-page-interval": { type: "string", default: "5s" },
    "health-interval": { type: "string", default: "10s" },
    repeat: { type: "string", default: "1" },
  },
});
const sizes = (values.sizes ?? "").split(",").map(Number);
const steadySeconds = Number(values.steady);
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1)
  throw new Error(`--repeat: ${values.repeat} is not a whole number of runs, 1 or more`);
/** Where the managers keep their store, and how many share it. */
type StoreMode = "sqlite" | "postgres" | "postgres-x3";
const storeModes = (values.stores ?? "").split(",").filter(Boolean) as StoreMode[];
for (const mode of storeModes)
  if (!["sqlite", "postgres", "postgres-x3"].includes(mode))
    throw new Error(`--stores: ${mode} is not sqlite, postgres or postgres-x3`);
/**
 * The limit client's concurrency: the manager's calls in flight to one
 * provider (its connection's default). Its 256 VM workers share them, so
 * the provider never sees more from it; the limit at 256 would queue more
 * calls at the mock than the manager can, and take about 13% longer.
 */
const providerCallsInFlight = defaultProviderCallsInFlight;

interface Figures {
  store: StoreMode;
  vms: number;
  applySeconds: number;
  readySeconds: number;
  managerPeakRssMiB: number;
  /** CPU time of the managers (all of them) from start until every VM was Ready. */
  managerCpuSeconds: number;
  mockCpuSeconds: number;
  /** How long the managers' main threads ran, and waited for a core, from the first apply until every VM was Ready. */
  mainThreadRunSeconds: number;
  mainThreadWaitSeconds: number;
  /** CPU time of this process (the applies and the watch) from the first apply until every VM was Ready. */
  benchCpuSeconds: number;
  /** The machine's cores busy on average over the same time, whatever ran. */
  coresBusy: number;
  mockPeakRssMiB: number;
  convergenceRpcs: Record<string, number>;
  steadyRpcsPerMinute: Record<string, number>;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Starts the managers of a mode: one on SQLite, or one or three on a fresh PostgreSQL database. */
async function startManagers(
  mode: StoreMode,
  dir: string,
): Promise<{ managers: Server[]; drop: () => void }> {
  const common = [
    "--drift-page-interval",
    values["drift-page-interval"] ?? "5s",
    "--health-interval",
    values["health-interval"] ?? "10s",
  ];
  if (mode === "sqlite")
    return {
      managers: [await startServer("manager", ["--data", join(dir, "data"), ...common])],
      drop: () => undefined,
    };
  const db = createBenchDatabase(postgresServerUrl());
  const count = mode === "postgres-x3" ? 3 : 1;
  const managers: Server[] = [];
  for (let i = 1; i <= count; i++)
    managers.push(
      await startServer("manager", ["--store", db.url, "--replica-id", `bench-${i}`, ...common]),
    );
  return { managers, drop: () => db.drop() };
}

async function runSize(mode: StoreMode, n: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-manager-"));
  const mock = await startServer("mock", []);
  const { managers, drop } = await startManagers(mode, dir);
  // Applies go round the managers (all serve the API); the first is read.
  const clients = managers.map((m) =>
    createServiceClient(ManagerService, m.url, { defaultTimeoutMs: 120_000 }),
  );
  const client = clients[0] as (typeof clients)[number];
  try {
    await applyFleetBase(client, mock.url);
    // Watching before the first apply: every change is seen.
    const allReady = untilAllReady(client, n, 600_000);
    const scheduled = () =>
      managers
        .map((m) => mainThreadSchedule(m.child.pid ?? 0))
        .reduce((a, b) => ({
          runSeconds: a.runSeconds + b.runSeconds,
          waitSeconds: a.waitSeconds + b.waitSeconds,
        }));
    const scheduleBefore = scheduled();
    const benchCpuBefore = process.cpuUsage();
    const busyBefore = machineBusySeconds();
    const started = performance.now();
    // 64 applies in flight by default, as a CI pipeline applying a directory in parallel might.
    await applyFleet(clients, n, Number(values["apply-concurrency"]));
    const applySeconds = (performance.now() - started) / 1000;
    await allReady;
    const readySeconds = (performance.now() - started) / 1000;
    const scheduleAtReady = scheduled();
    const coresBusy = (machineBusySeconds() - busyBefore) / readySeconds;
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const managerCpuSeconds = managers.reduce((t, m) => t + cpuSeconds(m.child.pid ?? 0), 0);
    const mockCpuSeconds = cpuSeconds(mock.child.pid ?? 0);
    const convergenceRpcs = await providerCalls(mock.opsUrl);
    // Steady state: nothing changes; count what the manager still asks.
    await new Promise((r) => setTimeout(r, 5000));
    const before = await providerCalls(mock.opsUrl);
    await new Promise((r) => setTimeout(r, steadySeconds * 1000));
    const after = await providerCalls(mock.opsUrl);
    const steady: Record<string, number> = {};
    for (const [method, count] of Object.entries(after)) {
      const delta = count - (before[method] ?? 0);
      if (delta) steady[method] = Math.round(((delta * 60) / steadySeconds) * 10) / 10;
    }
    return {
      store: mode,
      vms: n,
      applySeconds,
      readySeconds,
      managerPeakRssMiB: Math.max(...managers.map((m) => peakRssMiB(m.child.pid ?? 0))),
      managerCpuSeconds,
      mockCpuSeconds,
      mainThreadRunSeconds: scheduleAtReady.runSeconds - scheduleBefore.runSeconds,
      mainThreadWaitSeconds: scheduleAtReady.waitSeconds - scheduleBefore.waitSeconds,
      benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6,
      coresBusy,
      mockPeakRssMiB: peakRssMiB(mock.child.pid ?? 0),
      convergenceRpcs,
      steadyRpcsPerMinute: steady,
    };
  } finally {
    for (const c of clients) c.close();
    for (const m of managers) await m.stop();
    await mock.stop();
    drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the limit took: its time, and the CPU of its client (this process) and of provider-mock. */
interface LimitRun {
  seconds: number;
  clientCpuSeconds: number;
  mockCpuSeconds: number;
  coresBusy: number;
}

/** The limit: the same provider calls per VM from a plain client, on a fresh provider-mock. */
async function limitFor(n: number): Promise<LimitRun> {
  const mock = await startServer("mock", []);
  try {
    const before = process.cpuUsage();
    const busyBefore = machineBusySeconds();
    const { seconds } = await runLimit(mock.url, n, providerCallsInFlight);
    const used = process.cpuUsage(before);
    return {
      seconds,
      clientCpuSeconds: (used.user + used.system) / 1e6,
      mockCpuSeconds: cpuSeconds(mock.child.pid ?? 0),
      coresBusy: (machineBusySeconds() - busyBefore) / seconds,
    };
  } finally {
    await mock.stop();
  }
}

/** The cores this machine offers: a run whose processes keep them all busy is bound by the machine. */
const cores = availableParallelism();
const label = {
  sqlite: "SQLite",
  postgres: "PostgreSQL, 1 manager",
  "postgres-x3": "PostgreSQL, 3 managers",
};

/** Runs the limit for `n` VMs and prints it. */
async function measureLimit(n: number): Promise<LimitRun> {
  process.stdout.write(`running the limit for ${n} VMs...\n`);
  const limit = await limitFor(n);
  process.stdout.write(
    `${n} VMs, limit (a plain client: Create, task, Describe per VM, ${providerCallsInFlight} in flight, no manager): ` +
      `${limit.seconds.toFixed(1)} s (${(n / limit.seconds).toFixed(0)} VMs/s); ` +
      `CPU: the client ${limit.clientCpuSeconds.toFixed(1)} s, provider-mock ${limit.mockCpuSeconds.toFixed(1)} s; ` +
      `${limit.coresBusy.toFixed(2)} of ${cores} cores busy\n`,
  );
  return limit;
}

/** A store's rate as a share of the limit's: against the limits at the run's speed, and as timed. */
interface LimitShare {
  atRunSpeed: number;
  timed: number;
}

/** A run's figures, and its share of the limits beside it (none with --no-limit). */
interface Run extends Figures {
  share?: LimitShare;
}
const results: Run[] = [];

/** A store's rate against the limit's, the limit measured just before the run and just after it. */
function shareOfLimit(run: Figures, before: LimitRun, after: LimitRun): LimitShare {
  const adjusted = (limitAtRunSpeed(before, run) + limitAtRunSpeed(after, run)) / 2;
  return {
    atRunSpeed: adjusted / run.readySeconds,
    timed: (before.seconds + after.seconds) / 2 / run.readySeconds,
  };
}

function againstLimit(share: LimitShare): string {
  return (
    `${share.atRunSpeed.toFixed(2)}x the limit's rate at this run's speed ` +
    `(${share.timed.toFixed(2)}x against the limits as timed)`
  );
}

/** The runs of a store at a size; with --repeat, several. */
const runsOf = (mode: StoreMode, n: number) =>
  results.filter((r) => r.store === mode && r.vms === n);

/** The run of a store at a size whose time to Ready is the median (the lower of the middle two). */
function typicalRun(mode: StoreMode, n: number): Run | undefined {
  const runs = runsOf(mode, n).sort((a, b) => a.readySeconds - b.readySeconds);
  return runs[(runs.length - 1) >> 1];
}

/** The limits beside a store's run: as timed, and at the run's speed. */
function limitsBeside(run: Figures, before: LimitRun, after: LimitRun): string {
  const seconds = (a: number, b: number) => `${a.toFixed(1)} s and ${b.toFixed(1)} s`;
  return (
    `  the limit, just before this run and just after: ${seconds(before.seconds, after.seconds)}; ` +
    `at this run's speed (provider-mock's CPU for the same calls as the gauge) ` +
    `${seconds(limitAtRunSpeed(before, run), limitAtRunSpeed(after, run))}\n`
  );
}

/** The runs at each size in order: with --repeat the stores take turns, each run between two limits (L S L S ... L). */
const turns = Array.from({ length: repeat }, (_, i) =>
  storeModes.map((mode) => ({ round: i + 1, mode })),
).flat();

for (const n of sizes) {
  let limitBefore = values["no-limit"] ? undefined : await measureLimit(n);
  for (const { round, mode } of turns) {
    process.stdout.write(
      `running ${n} VMs on ${label[mode]}${repeat > 1 ? ` (run ${round} of ${repeat})` : ""}...\n`,
    );
    const f = await runSize(mode, n);
    const limitAfter = limitBefore && (await measureLimit(n));
    const share = limitBefore && limitAfter ? shareOfLimit(f, limitBefore, limitAfter) : undefined;
    results.push(share ? { ...f, share } : f);
    process.stdout.write(
      `${n} VMs on ${label[mode]}: applied in ${f.applySeconds.toFixed(1)} s, all Ready in ${f.readySeconds.toFixed(1)} s ` +
        `(${(n / f.readySeconds).toFixed(0)} VMs/s${share ? `, ${againstLimit(share)}` : ""}); ` +
        `manager peak RSS ${f.managerPeakRssMiB.toFixed(0)} MiB${mode === "postgres-x3" ? " (the largest of 3)" : ""}, ` +
        `provider-mock peak RSS ${f.mockPeakRssMiB.toFixed(0)} MiB\n` +
        (limitBefore && limitAfter ? limitsBeside(f, limitBefore, limitAfter) : "") +
        `  CPU until Ready: manager${mode === "postgres-x3" ? "s" : ""} ${f.managerCpuSeconds.toFixed(1)} s ` +
        `(${((f.managerCpuSeconds * 1000) / n).toFixed(2)} ms per VM), provider-mock ${f.mockCpuSeconds.toFixed(1)} s; ` +
        `the manager's against the mock's ${(f.managerCpuSeconds / f.mockCpuSeconds).toFixed(2)}; ` +
        `the manager${mode === "postgres-x3" ? "s'" : "'s"} main thread${mode === "postgres-x3" ? "s" : ""} ran ${f.mainThreadRunSeconds.toFixed(1)} s ` +
        `and waited ${f.mainThreadWaitSeconds.toFixed(1)} s for a core; ` +
        `this bench's applies and watch ${f.benchCpuSeconds.toFixed(1)} s; ${f.coresBusy.toFixed(2)} of ${cores} cores busy\n` +
        `  provider RPCs to converge: ${sum(f.convergenceRpcs)} (${Object.entries(f.convergenceRpcs)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}), ${(sum(f.convergenceRpcs) / n).toFixed(2)} per VM\n` +
        `  steady state over ${steadySeconds} s: ${sum(f.steadyRpcsPerMinute).toFixed(1)} provider RPCs per minute (${Object.entries(
          f.steadyRpcsPerMinute,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})\n`,
    );
    limitBefore = limitAfter;
  }
}
if (repeat > 1)
  for (const n of sizes)
    for (const mode of storeModes) {
      const runs = runsOf(mode, n);
      const mine = runs.flatMap((r) => (r.share ? [r.share] : []));
      const ready = spreadOf(runs.map((r) => r.readySeconds));
      process.stdout.write(
        `\n${n} VMs on ${label[mode]}, ${repeat} runs (median and range): all Ready in ${formatSpread(ready, 1, " s")}` +
          (mine.length
            ? `; against the limit at the run's speed ${formatSpread(spreadOf(mine.map((s) => s.atRunSpeed)), 2, "x")}, ` +
              `as timed ${formatSpread(spreadOf(mine.map((s) => s.timed)), 2, "x")}`
            : ""),
      );
    }
// With --repeat, the ratios below compare each store's median run.
for (const mode of storeModes) {
  if (sizes.length < 2) continue;
  const small = typicalRun(mode, sizes[0] as number);
  const large = typicalRun(mode, sizes[sizes.length - 1] as number);
  if (!small || !large) continue;
  process.stdout.write(
    `\n${label[mode]}, ratio ${large.vms}/${small.vms} VMs: time to Ready x${(large.readySeconds / small.readySeconds).toFixed(1)}, ` +
      `peak RSS x${(large.managerPeakRssMiB / small.managerPeakRssMiB).toFixed(1)}, ` +
      `steady-state RPCs per minute x${(sum(large.steadyRpcsPerMinute) / Math.max(1, sum(small.steadyRpcsPerMinute))).toFixed(2)}`,
  );
}
for (const f of sizes.flatMap((n) => storeModes.map((mode) => typicalRun(mode, n)))) {
  const base = f && typicalRun("sqlite", f.vms);
  if (!f || f.store === "sqlite" || !base) continue;
  // At the same speed: each time over the mock's CPU for the same calls in that run (see limitAtRunSpeed).
  const atSameSpeed = f.readySeconds / f.mockCpuSeconds / (base.readySeconds / base.mockCpuSeconds);
  process.stdout.write(
    `\n${f.vms} VMs: ${label[f.store]} took ${atSameSpeed.toFixed(2)}x SQLite's time to Ready at the same machine speed ` +
      `(${(f.readySeconds / base.readySeconds).toFixed(2)}x as timed)`,
  );
}
process.stdout.write("\n");
