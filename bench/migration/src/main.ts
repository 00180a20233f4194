#!/usr/bin/env node
// The migration bench: one disk moved between two provider-libvirt
// processes by VirtRigaud's paths (DiskExportBegin on the source; then
// either the target pulling the export from the source itself, pullDisk,
// or the manager's chunk copier, copyDisk; DiskImportCommit on the target),
// against plain tools doing the same job over the same SSH host (qemu-img
// convert on the host, then scp -3 through this machine), in one run,
// interleaved.
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { ImageFormat, copyDisk, exportDisk, pullDisk } from "@virtrigaud/contracts";
import { type ProviderClient, createProviderClient } from "@virtrigaud/contracts/client";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";
import {
  type LibvirtTestbed,
  appNodeFlags,
  libvirtHostFlags,
  libvirtTestbed,
} from "@virtrigaud/testbed";
import { cpuSeconds, machineCpuSeconds, peakRssMib } from "./process-usage.js";

// Each process runs with the Node flags of the app it stands for, as deployed
// (deploy/docker/apps.Dockerfile says why: V8 counted every 2 MiB chunk's
// buffers against a small old generation and ran a full mark-compact every
// few chunks). This process is the copier, as the manager is: it is started
// again with the manager's flags when it lacks them. --v8-defaults asks for
// V8's own heap sizing in every process, to compare.
const v8Defaults = process.argv.includes("--v8-defaults");
const copierFlags = v8Defaults ? [] : appNodeFlags("manager");
const providerFlags = v8Defaults ? [] : appNodeFlags("provider-libvirt");
if (!copierFlags.every((flag) => process.execArgv.includes(flag))) {
  const again = spawnSync(
    process.execPath,
    [...copierFlags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(again.status ?? 1);
}

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");

const { values } = parseArgs({
  options: {
    "size-gib": { type: "string", default: "2" },
    reps: { type: "string", default: "3" },
    concurrency: { type: "string", default: "4" },
    "chunk-mib": { type: "string", default: "2" },
    paths: { type: "string", default: "pull,copy" },
    prof: { type: "string" },
    "v8-defaults": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`Usage: node bench/migration/dist/main.js [flags]

  --size-gib N      size of the disk moved, all of it written with random bytes (default 2)
  --reps N          moves by each path, interleaved; the median is reported (default 3)
  --concurrency N   chunks in flight in the copier (default 4, its default)
  --chunk-mib N     chunk size in MiB, at most 2 (default 2, its default)
  --paths LIST      our paths to time, of "pull" (the target reads the source's shared export
                    itself) and "copy" (the chunks go through the copier) (default pull,copy)
  --prof DIR        write CPU profiles of both providers into DIR (node --cpu-prof)
  --v8-defaults     run the providers and the copier without the Node flags their apps
                    run with (provider-libvirt ${appNodeFlags("provider-libvirt").join(" ")},
                    the manager ${appNodeFlags("manager").join(" ")}), with V8's own heap sizing`);
  process.exit(0);
}
const sizeBytes = Number(values["size-gib"]) * 1024 ** 3;
const reps = Number(values.reps);
const concurrency = Number(values.concurrency);
const chunkBytes = Number(values["chunk-mib"]) * 1024 ** 2;
type Path = "pull" | "copy";
const isPath = (p: string): p is Path => p === "pull" || p === "copy";
const paths = (values.paths ?? "").split(",").filter(Boolean);
const badPath = paths.find((p) => !isPath(p));
if (badPath !== undefined) throw new Error(`--paths: ${badPath} is not pull or copy`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const now = () => Number(process.hrtime.bigint()) / 1e6;
const mibPerSecond = (bytes: number, ms: number) => bytes / 1024 ** 2 / (ms / 1000);

/** The test bed's sshd: the plain tools' way in, the same host the providers reach. */
function sshOptions(tb: LibvirtTestbed): string[] {
  return [
    "-i",
    tb.sshKeyFile,
    "-o",
    `UserKnownHostsFile=${tb.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
  ];
}
async function onHost(tb: LibvirtTestbed, command: string[]): Promise<string> {
  const args = [...sshOptions(tb), "-p", String(tb.sshPort), `${tb.sshUser}@${tb.sshHost}`];
  // ssh joins its arguments into one command line: each one quoted for the remote shell.
  const quoted = command.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return (await run("ssh", [...args, quoted], { maxBuffer: 1 << 20 })).stdout.trim();
}

function spawnProvider(
  tb: LibvirtTestbed,
  pool: string,
  poolDir: string,
): Promise<ProviderProcess> {
  const prof = values.prof ? ["--cpu-prof", "--cpu-prof-dir", values.prof] : [];
  return startProviderProcess({
    args: [
      ...providerFlags,
      ...prof,
      join(repoRoot, "apps/provider-libvirt/bin/virtrigaud-provider-libvirt.js"),
      "--insecure",
      "--listen",
      "127.0.0.1:0",
      "--transfer-listen",
      "127.0.0.1:0",
      "--ops-listen",
      "127.0.0.1:0",
      ...libvirtHostFlags(tb),
      "--storage-pool",
      pool,
      "--create-pool-dir",
      poolDir,
      "--domain-type",
      "qemu",
    ],
    timeoutMs: 30_000,
  });
}

const tb = libvirtTestbed();
const work = join(tb.dir, "bench-migration");
const pools = {
  source: { name: "vrtg-bench-mig-src", dir: join(work, "source") },
  target: { name: "vrtg-bench-mig-dst", dir: join(work, "target") },
};
const plainDir = join(work, "plain");
const processes: ProviderProcess[] = [];
const clients: ProviderClient[] = [];
let sourceVm = "";

try {
  mkdirSync(plainDir, { recursive: true });
  // The disk: every byte random, so neither path can skip zeros or compress.
  const image = join(work, "random.qcow2");
  process.stderr.write(`writing a ${values["size-gib"]} GiB disk of random bytes...\n`);
  await run("sh", [
    "-c",
    `head -c ${sizeBytes} /dev/urandom > "$1.raw" && qemu-img convert -O qcow2 "$1.raw" "$1" && rm "$1.raw"`,
    "sh",
    image,
  ]);
  const sourceProcess = await spawnProvider(tb, pools.source.name, pools.source.dir);
  processes.push(sourceProcess);
  const targetProcess = await spawnProvider(tb, pools.target.name, pools.target.dir);
  processes.push(targetProcess);
  const source = createProviderClient(sourceProcess.url);
  const target = createProviderClient(targetProcess.url);
  clients.push(source, target);

  // The source VM, off, its root disk made from the random image.
  const created = await source.create({
    name: "bench-migration-source",
    class: { cpu: 1, memoryMib: 128 },
    image: { source: { case: "path", value: image } },
  });
  await source.waitForTask(created.task, { timeoutMs: 600_000 });
  sourceVm = created.vmId;
  const { disks } = await source.describeDisks({ vmId: sourceVm });
  const root = disks.find((d) => d.name === "root");
  if (!root) throw new Error("the source VM has no root disk");

  // Both paths start by reading this disk and its backing image: one
  // conversion, untimed, reads them once before, so that the first path to
  // run does not pay for a cold page cache the second finds warm.
  const warm = join(plainDir, "warm-up.qcow2");
  await onHost(tb, ["qemu-img", "convert", "-O", "qcow2", root.location, warm]);
  await onHost(tb, ["rm", "-f", warm]);
  const loadBefore = loadavg()[0] ?? 0;

  // CPU-seconds of the copy step by process: source provider, target provider, copier (this one).
  const pids = [sourceProcess.child.pid, targetProcess.child.pid, process.pid];
  type Move = {
    total: number;
    exported: number;
    copied: number;
    /** From the first DiskImportCommit to its end: the target's check of the whole file. */
    committed: number;
    bytes: number;
    cpu: number[];
    /** Cores the whole machine kept busy during the copy step, on average. */
    busyCores: number;
  };
  const ours = new Map<Path, Move[]>(paths.filter(isPath).map((p) => [p, []]));
  const plain: Array<{ total: number; converted: number; copied: number; bytes: number }> = [];
  // Neither path starts while the other's files are still being written
  // back: what the plain tools leave in the page cache (they never sync)
  // would otherwise slow whichever path runs next.
  const settle = () => onHost(tb, ["sync"]);
  for (let rep = 0; rep < reps; rep++) {
    const oursFirst = rep % 2 === 0;
    const runOurs = async (path: Path) => {
      const id = `bench-${path}-${rep}`;
      await settle();
      const start = now();
      const ready = await exportDisk(
        source,
        { exportId: id, vmId: sourceVm, diskName: "root", format: ImageFormat.QCOW2 },
        { timeoutMs: 600_000 },
      );
      const exported = now();
      const cpuBefore = pids.map(cpuSeconds);
      const machineBefore = machineCpuSeconds();
      let commitStart = Number.NaN;
      // The target as it is, but for noting when the first DiskImportCommit starts.
      const timedTarget = Object.assign(Object.create(target) as ProviderClient, {
        diskImportCommit: (...args: Parameters<ProviderClient["diskImportCommit"]>) => {
          if (Number.isNaN(commitStart)) commitStart = now();
          return target.diskImportCommit(...args);
        },
      });
      const result =
        path === "copy"
          ? await copyDisk({
              source,
              target: timedTarget,
              export: ready,
              importId: id,
              concurrency,
              chunkBytes,
            })
          : await pullDisk({ source, target: timedTarget, export: ready, importId: id });
      const end = now();
      if (result.import.sizeBytes !== ready.sizeBytes) throw new Error("the import's size differs");
      ours.get(path)?.push({
        total: end - start,
        exported: exported - start,
        copied: end - exported,
        committed: end - commitStart,
        bytes: Number(ready.sizeBytes),
        cpu: pids.map((pid, i) => cpuSeconds(pid) - (cpuBefore[i] ?? 0)),
        busyCores: (machineCpuSeconds() - machineBefore) / ((end - exported) / 1000),
      });
      await source.diskExportEnd({ exportId: id });
      await target.diskImportAbort({ importId: id });
    };
    const runPlain = async () => {
      const converted = join(plainDir, `plain-${rep}.qcow2`);
      const copy = join(plainDir, `copy-${rep}.qcow2`);
      await settle();
      const start = now();
      await onHost(tb, ["qemu-img", "convert", "-O", "qcow2", root.location, converted]);
      const mid = now();
      await run("scp", [
        "-3",
        "-q",
        ...sshOptions(tb),
        "-P",
        String(tb.sshPort),
        `${tb.sshUser}@${tb.sshHost}:${converted}`,
        `${tb.sshUser}@${tb.sshHost}:${copy}`,
      ]);
      const end = now();
      const bytes = Number(await onHost(tb, ["stat", "-c", "%s", copy]));
      plain.push({ total: end - start, converted: mid - start, copied: end - mid, bytes });
      await onHost(tb, ["rm", "-f", converted, copy]);
    };
    const runAllOurs = async () => {
      const order = [...ours.keys()];
      for (const path of rep % 2 === 0 ? order : order.reverse()) await runOurs(path);
    };
    if (oursFirst) {
      await runAllOurs();
      await runPlain();
    } else {
      await runPlain();
      await runAllOurs();
    }
    process.stderr.write(`rep ${rep + 1}/${reps} done\n`);
  }

  const bytes = median([...ours.values()].flat().map((r) => r.bytes));
  const pad = (s: string, n: number) => s.padStart(n);
  const loadAfter = loadavg()[0] ?? 0;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    `moving a ${values["size-gib"]} GiB disk (random bytes; ${(bytes / 1024 ** 2).toFixed(0)} MiB as qcow2) libvirt to libvirt, median of ${reps}; load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
  );
  const gib = bytes / 1024 ** 3;
  const verdicts: string[] = [];
  for (const [path, moves] of ours) {
    const step = path === "pull" ? "pull (provider to provider)" : "copy (through the copier)";
    const rows: Array<[string, number, number]> = [
      [
        "export / qemu-img convert",
        median(moves.map((r) => r.exported)),
        median(plain.map((r) => r.converted)),
      ],
      [`${step} / scp -3`, median(moves.map((r) => r.copied)), median(plain.map((r) => r.copied))],
      ["  of which the commit's check", median(moves.map((r) => r.committed)), Number.NaN],
      ["whole move", median(moves.map((r) => r.total)), median(plain.map((r) => r.total))],
    ];
    console.log(
      `\n${`ours by ${path}`.padEnd(40)}${pad("ours", 10)}${pad("plain", 10)}${pad("ours MiB/s", 12)}${pad("plain MiB/s", 13)}${pad("ratio", 8)}`,
    );
    for (const [name, o, p] of rows) {
      const oRate = mibPerSecond(bytes, o);
      const pRate = mibPerSecond(bytes, p);
      // A part of a step has no rate and no counterpart among the plain tools.
      const part = Number.isNaN(p);
      console.log(
        `${name.padEnd(40)}${pad(seconds(o), 10)}${pad(part ? "" : seconds(p), 10)}${pad(part ? "" : oRate.toFixed(0), 12)}${pad(part ? "" : pRate.toFixed(0), 13)}${pad(part ? "" : `${(oRate / pRate).toFixed(2)}x`, 8)}`,
      );
    }
    console.log(`runs, whole move: ${moves.map((r) => seconds(r.total)).join(", ")}`);
    const cpuOf = (i: number) => (median(moves.map((m) => m.cpu[i] ?? 0)) / gib).toFixed(1);
    console.log(
      `CPU-seconds per GiB moved (median): source provider ${cpuOf(0)}, target provider ${cpuOf(1)}, copier ${cpuOf(2)}`,
    );
    console.log(
      `the machine's cores busy during the ${path === "pull" ? "pull" : "copy"} (median): ${median(moves.map((m) => m.busyCores)).toFixed(2)} of ${availableParallelism()}`,
    );
    const whole = rows.at(-1) ?? ["", 1, 1];
    const ratio = whole[2] / whole[1];
    verdicts.push(`${path} ${ratio >= 0.8 ? "met" : "not met"} (${ratio.toFixed(2)}x)`);
  }
  console.log(`\nplain runs, whole move: ${plain.map((r) => seconds(r.total)).join(", ")}`);
  const rss = pids.map((pid) => peakRssMib(pid).toFixed(0));
  console.log(
    `peak RSS, MiB: source provider ${rss[0]}, target provider ${rss[1]}, copier ${rss[2]}; Node flags: providers ${providerFlags.join(" ") || "none"}, copier ${copierFlags.join(" ") || "none"}${v8Defaults ? " (--v8-defaults)" : ""}`,
  );
  console.log(
    `target: at least 0.8x the plain tools' throughput for the whole move: ${verdicts.join("; ")}`,
  );
} finally {
  const [source] = clients;
  if (source && sourceVm) {
    const removed = await source.delete({ vmId: sourceVm }).catch(() => undefined);
    await source.waitForTask(removed?.task).catch(() => undefined);
  }
  for (const client of clients) client.close();
  for (const p of processes) await p.stop();
  for (const pool of Object.values(pools)) {
    await run("virsh", ["-q", "-c", tb.uri, "pool-destroy", pool.name]).catch(() => undefined);
    await run("virsh", ["-q", "-c", tb.uri, "pool-undefine", pool.name]).catch(() => undefined);
  }
  rmSync(work, { recursive: true, force: true });
}
