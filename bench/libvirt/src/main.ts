#!/usr/bin/env node
// The libvirt provider's bench: ListVMs and Describe-all with 200 defined
// domains on the test bed's real libvirtd, reached over its real sshd, and
// the provider's per-operation overhead against plain virsh over the same
// SSH host. Every figure is the median of several repetitions, printed with
// its ratio to the baseline measured in the same run.
import { parseArgs } from "node:util";
import { PowerOperation, PowerState, Secret, createLogger } from "@virtrigaud/contracts";
import { startTestServer } from "@virtrigaud/contracts/testing";
import {
  createLibvirtHost,
  createLibvirtProvider,
  createSshTransport,
} from "@virtrigaud/provider-libvirt";
import { readFileSync } from "node:fs";
import { defineFleet, removePool } from "./fleet.js";
import { connectPlainSsh } from "./plain-ssh.js";
import { libvirtTestbed } from "@virtrigaud/testbed";

const { values } = parseArgs({
  options: {
    domains: { type: "string", default: "200" },
    running: { type: "string", default: "10" },
    reps: { type: "string", default: "5" },
    concurrency: { type: "string", default: "8" },
    "list-only": { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench -w @virtrigaud/bench-libvirt -- [flags]

  --domains N       domains defined on the daemon (default 200)
  --running N       of which running (default 10)
  --reps N          repetitions of each measurement; the median is reported (default 5)
  --concurrency N   calls in flight for Describe-all and its baseline (default 8)
  --list-only       measure ListVMs and its baselines only (under a minute)`);
  process.exit(0);
}
const count = Number(values.domains);
const running = Number(values.running);
const reps = Number(values.reps);
const concurrency = Number(values.concurrency);

/** The runs of one measurement: their median, their spread (fastest and slowest), and each. */
interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number[];
  /** The warm-up run before them. */
  first: number;
}
function figureOf(xs: number[], first = Number.NaN): Figure {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)] ?? Number.NaN,
    min: s[0] ?? Number.NaN,
    max: s.at(-1) ?? Number.NaN,
    runs: xs,
    first,
  };
}
async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
/**
 * Measures the provider and its two baselines turn about, one run of each in
 * a round, so a slow spell of a shared machine falls on all three alike.
 */
async function measureSide(
  ours: () => Promise<unknown>,
  exec: () => Promise<unknown>,
  shell: () => Promise<unknown>,
): Promise<[Figure, Figure, Figure]> {
  const fns = [ours, exec, shell];
  const warm: number[] = [];
  for (const fn of fns) warm.push(await time(fn));
  const runs: number[][] = [[], [], []];
  for (let i = 0; i < reps; i++) {
    for (const [j, fn] of fns.entries()) runs[j]?.push(await time(fn));
  }
  const [a = [], b = [], c = []] = runs;
  return [figureOf(a, warm[0]), figureOf(b, warm[1]), figureOf(c, warm[2])];
}
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const testbed = libvirtTestbed();
const network = testbed.network;
process.stderr.write(`defining ${count} domains (${running} running) on ${testbed.uri}...\n`);
const fleet = await defineFleet(testbed, count, running, network);
/** The provider makes this pool on first use; the bench removes it at the end. */
const benchPool = { name: "vrtg-bench-pool", dir: `${testbed.dir}/bench-pool` };
const host = createLibvirtHost({
  uri: testbed.uri,
  transport: createSshTransport({
    host: testbed.sshHost,
    port: testbed.sshPort,
    username: testbed.sshUser,
    privateKey: new Secret(readFileSync(testbed.sshKeyFile, "utf8")),
    knownHostsFile: testbed.knownHosts,
  }),
  sessions: concurrency,
});
const provider = createLibvirtProvider({
  host,
  storagePool: benchPool.name,
  createPoolDir: benchPool.dir,
  logger: createLogger({ level: "warn" }),
});
const server = await startTestServer(provider);
const client = server.client;
const plain = await connectPlainSsh(testbed);

try {
  await client.validate({});
  const rows: Array<[string, Figure, Figure, Figure]> = [];
  const note = (op: string, [ours, execMs, shellMs]: [Figure, Figure, Figure]) =>
    rows.push([op, ours, execMs, shellMs]);
  /**
   * virsh through a long-lived shell on the host: no SSH exec per call. On the
   * provider's own host, so a call that may change the host counts as the
   * provider's own change (LibvirtHost.changes): reads say they only read.
   */
  const shellVirsh = (args: string[], call: { idempotent?: boolean } = {}) =>
    host.exec(["virsh", "-q", "-c", testbed.uri, ...args], call);

  // 1. List every domain with state and resources.
  let listed = 0;
  const statsArgs = ["domstats", "--raw", "--state", "--vcpu", "--balloon", "--block"];
  const listing = await measureSide(
    async () => {
      const { vms } = await client.listVMs({ namePrefix: "bench-", pageSize: 1000 });
      listed = vms.length;
    },
    () => plain.virsh(statsArgs),
    () => shellVirsh(statsArgs, { idempotent: true }),
  );
  note(`ListVMs, ${count} domains (state, resources, addresses)`, listing);

  const cycled = fleet.uuids[count - 1] ?? "";
  if (!values["list-only"]) {
    // 2. Describe one running domain.
    const one = fleet.uuids[0] ?? "";
    note(
      "Describe, 1 running domain",
      await measureSide(
        () => client.describe({ vmId: one }),
        () => plain.virsh(["dominfo", one]),
        () => shellVirsh(["dominfo", one], { idempotent: true }),
      ),
    );

    // 3. Describe every domain, `concurrency` calls in flight.
    note(
      `Describe all ${count}, ${concurrency} in flight`,
      await measureSide(
        () => pool(fleet.uuids, concurrency, (id) => client.describe({ vmId: id })),
        () => pool(fleet.uuids, concurrency, (id) => plain.virsh(["dominfo", id])),
        () =>
          pool(fleet.uuids, concurrency, (id) => shellVirsh(["dominfo", id], { idempotent: true })),
      ),
    );

    // 4. A power cycle of a stopped domain: on, then off, each to completion.
    const cycle = async () => {
      await client.waitForTask(
        (await client.power({ vmId: cycled, operation: PowerOperation.ON })).task,
      );
      await client.waitForTask(
        (await client.power({ vmId: cycled, operation: PowerOperation.OFF })).task,
      );
    };
    note(
      "Power on + off, 1 domain",
      await measureSide(
        cycle,
        async () => {
          await plain.virsh(["start", cycled]);
          await plain.virsh(["destroy", cycled]);
        },
        async () => {
          await shellVirsh(["start", cycled]);
          await shellVirsh(["destroy", cycled]);
        },
      ),
    );
  }
  const final = await client.describe({ vmId: cycled });
  if (listed !== count || final.vm?.powerState !== PowerState.OFF) {
    throw new Error(
      `check failed: listed ${listed} of ${count} domains, final state ${final.vm?.powerState}`,
    );
  }

  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (ms: number) => `${ms.toFixed(1)} ms`.padStart(11);
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`.padStart(8);
  const spread = (f: Figure) => ` ${f.min.toFixed(0)}-${f.max.toFixed(0)}`.padStart(11);
  console.log(
    `\nlibvirt provider over SSH vs plain virsh over the same SSH host (median of ${reps}, measured turn about)`,
  );
  console.log(`${count} domains defined, ${running} running, on ${testbed.uri}\n`);
  console.log(
    `${pad("operation", 52)}${"provider".padStart(11)}${"virsh/exec".padStart(11)}${"ratio".padStart(8)}${"virsh/shell".padStart(12)}${"ratio".padStart(8)}`,
  );
  for (const [op, ours, execMs, shellMs] of rows) {
    console.log(
      `${pad(op, 52)}${num(ours.median)}${num(execMs.median)}${ratio(ours.median, execMs.median)} ${num(shellMs.median)}${ratio(ours.median, shellMs.median)}`,
    );
    console.log(
      `${pad("  spread, fastest-slowest (ms)", 52)}${spread(ours)}${spread(execMs)}${"".padStart(8)} ${spread(shellMs)}`,
    );
  }
  console.log(`
virsh/exec:  one SSH exec per virsh command (what a client without a long-lived shell pays)
virsh/shell: one virsh process per command, through a long-lived shell on one SSH channel
baselines give less: domstats has no addresses or names of disks; dominfo has no disks, NICs or addresses`);
  const [ours, , shell] = listing;
  // Each round's own ratio, so that a slow spell falling on one round moves one ratio, not the median.
  const perRound = figureOf(ours.runs.map((ms, i) => ms / (shell.runs[i] ?? Number.NaN)));
  console.log(
    `\nListVMs against virsh/shell, round by round: median ${perRound.median.toFixed(2)}x, spread ${perRound.min.toFixed(2)}x-${perRound.max.toFixed(2)}x` +
      `\nListVMs' first call (no definition read before): ${ours.first.toFixed(0)} ms`,
  );
  console.log(
    `\ntarget: ListVMs of ${count} within 2x of virsh/shell: ${perRound.median <= 2 ? "met" : "NOT met"} (${perRound.median.toFixed(2)}x; ${ours.median.toFixed(0)} ms against ${shell.median.toFixed(0)} ms)`,
  );
} finally {
  plain.close();
  await server.close();
  await provider.close();
  await fleet.remove();
  await removePool(testbed, benchPool.name, benchPool.dir);
}
