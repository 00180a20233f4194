// The copier's rate without SSH or disks: two provider-mock processes (the
// disk in memory) and copyDisk between them, over real sockets. Build the
// mock and contracts first; --prof DIR writes CPU profiles of both providers.
//   node bench/mock-copy/run.mjs [MiB, default 256] [--prof DIR]
import { performance } from "node:perf_hooks";
import { copyDisk } from "@virtrigaud/contracts";
import { createProviderClient } from "@virtrigaud/contracts/client";
import { startProviderProcess } from "@virtrigaud/contracts/testing";
import { fileURLToPath } from "node:url";

const mib = Number(process.argv[2] ?? 256);
const profIdx = process.argv.indexOf("--prof");
const prof = profIdx > 0 ? ["--cpu-prof", "--cpu-prof-dir", process.argv[profIdx + 1]] : [];
const bin = fileURLToPath(new URL("../../apps/provider-mock/dist/main.js", import.meta.url));
const spawnMock = (args) =>
  startProviderProcess({
    args: [...prof, bin, "--listen", "127.0.0.1:0", "--ops-listen", "off", ...args],
  });
const [source, target] = await Promise.all([
  spawnMock(["--insecure", "--disk-bytes", `${mib}Mi`]),
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
const t0 = performance.now();
const r = await copyDisk({ source: s, target: t, export: made, importId: "imp-1" });
const secs = (performance.now() - t0) / 1000;
console.log(
  `${mib} MiB in ${secs.toFixed(2)} s: ${(Number(r.writtenBytes) / 2 ** 20 / secs).toFixed(1)} MiB/s`,
);
s.close();
t.close();
await Promise.all([source.stop("SIGTERM"), target.stop("SIGTERM")]);
