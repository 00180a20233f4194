// The copy's RPC layer alone: copyDisk between two provider-mock processes
// (the disk in memory, no SSH), with CPU-seconds per process. The mock's
// disk is 7/16 data and 9/16 zeros (sent as zero_length): the figures are
// per GiB of data moved. Build provider-mock and contracts first.
// PROF=DIR writes CPU profiles of the two providers into DIR; NODE_FLAGS
// (space-separated) are given to their node.
//   node bench/migration/layers/rpc.mjs [MiB of disk, default 1024]
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { copyDisk } from "@virtrigaud/contracts";
import { createProviderClient } from "@virtrigaud/contracts/client";
import { startProviderProcess } from "@virtrigaud/contracts/testing";

const mib = Number(process.argv[2] ?? 1024);
const bin = new URL("../../../apps/provider-mock/dist/main.js", import.meta.url).pathname;
const spawnMock = (args) =>
  startProviderProcess({
    args: [
      ...(process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.PROF] : []),
      ...(process.env.NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      ...[bin, "--listen", "127.0.0.1:0", "--ops-listen", "off", "--insecure", ...args],
    ],
  });
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (+f[11] + +f[12]) / 100;
};
const [source, target] = await Promise.all([
  spawnMock(["--disk-bytes", `${mib}Mi`, "--disk-memory", `${mib * 2}Mi`]),
  spawnMock(["--disk-memory", `${mib * 2}Mi`]),
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
const before = pids.map(cpu);
const t0 = performance.now();
await copyDisk({ source: s, target: t, export: made, importId: "imp-1" });
const secs = (performance.now() - t0) / 1000;
const dataGib = (mib * 7) / 16 / 1024;
const per = pids.map((pid, i) => ((cpu(pid) - before[i]) / dataGib).toFixed(1));
console.log(
  `${mib} MiB disk (${(dataGib * 1024).toFixed(0)} MiB data) in ${secs.toFixed(1)} s: ${((dataGib * 1024) / secs).toFixed(0)} MiB/s of data; ` +
    `CPU-s per GiB of data: source ${per[0]}, target ${per[1]}, copier ${per[2]}`,
);
s.close();
t.close();
await Promise.all([source.stop("SIGTERM"), target.stop("SIGTERM")]);
