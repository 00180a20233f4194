// The copier's rate without SSH or disks: two provider-mock processes (the
// disk in memory) and copyDisk between them, over real sockets, with the
// CPU-seconds of each process. The mock's disk is 7/16 data and 9/16 zeros
// (sent as zero_length chunks), so the figures are per GiB of data moved.
// Build provider-mock and contracts first. --prof DIR writes CPU profiles of
// both providers into DIR; NODE_FLAGS (space-separated) go to their node.
//   node bench/mock-copy/run.mjs [MiB of disk, default 256] [--prof DIR]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { copyDisk } from "@virtrigaud/contracts";
import { createProviderClient } from "@virtrigaud/contracts/client";
import { startProviderProcess } from "@virtrigaud/contracts/testing";

const mib = Number(process.argv[2] ?? 256);
const profIdx = process.argv.indexOf("--prof");
const prof = profIdx > 0 ? ["--cpu-prof", "--cpu-prof-dir", process.argv[profIdx + 1]] : [];
const nodeFlags = process.env.NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
const bin = fileURLToPath(new URL("../../apps/provider-mock/dist/main.js", import.meta.url));
const spawnMock = (args) =>
  startProviderProcess({
    args: [...prof, ...nodeFlags, bin, "--listen", "127.0.0.1:0", "--ops-listen", "off", ...args],
  });
/** CPU-seconds (user + system) a process has spent, from /proc. */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const [source, target] = await Promise.all([
  spawnMock(["--insecure", "--disk-bytes", `${mib}Mi`, "--disk-memory", `${mib * 2}Mi`]),
  spawnMock(["--insecure", "--disk-memory", `${mib * 2}Mi`]),
]);
const s = createProviderClient(source.url, { retry: false });
const t = createProviderClient(target.url, { retry: false });
const { vmId, task } = await s.create({
  name: "web-1",
  class: { cpu: 1, memoryMib: 512 },
  image: { source: { case: "template", value: "debian-12" } },
});
await s.waitForTask(task);
const { export: made } = await s.diskExportBegin({ exportId: "e-1", vmId, diskName: "root" });
const pids = [source.child.pid, target.child.pid, process.pid];
const before = pids.map(cpuSeconds);
const t0 = performance.now();
const r = await copyDisk({ source: s, target: t, export: made, importId: "imp-1" });
const secs = (performance.now() - t0) / 1000;
const dataGib = (mib * 7) / 16 / 1024;
const perGib = pids.map((pid, i) => ((cpuSeconds(pid) - before[i]) / dataGib).toFixed(1));
console.log(
  `${mib} MiB disk (${(dataGib * 1024).toFixed(0)} MiB data) in ${secs.toFixed(2)} s: ` +
    `${(Number(r.writtenBytes) / 2 ** 20 / secs).toFixed(1)} MiB/s written, ` +
    `${((dataGib * 1024) / secs).toFixed(0)} MiB/s of data; ` +
    `CPU-s per GiB of data: source ${perGib[0]}, target ${perGib[1]}, copier ${perGib[2]}`,
);
s.close();
t.close();
await Promise.all([source.stop("SIGTERM"), target.stop("SIGTERM")]);
