// Our side of bench/vsphere's comparison with govmomi (tools/govmomi-list),
// run as a process of its own as that one is, with the same calls: one
// ContainerView of VirtualMachine and DistributedVirtualPortgroup, then
// RetrievePropertiesEx with provider-vsphere's VM paths (and the port groups'
// key and name), following ContinueRetrievePropertiesEx tokens. It prints the
// same JSON line as govmomi-list.
//
// With BENCH_HEAP=1 it instead makes one retrieval between two full garbage
// collections and prints the heap the decoded answer keeps ({"heapKeptKiB"}):
// a process of its own, because exposing or forcing collections makes the
// calls after it take about three times the CPU.
//
// Reads VSPHERE_URL, VSPHERE_USERNAME, VSPHERE_PASSWORD, VSPHERE_CA_FILE, and
// BENCH_REPEAT (retrievals after the first, default 5).
import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type ObjectContent, createContainerView, createFinder } from "@virtrigaud/vsphere-sdk";
import { vmPaths } from "@virtrigaud/provider-vsphere";
import { vcsimClient } from "@virtrigaud/vsphere-sdk/testing";

const env = (name: string) => process.env[name] ?? "";
const repeat = Number(process.env["BENCH_REPEAT"] ?? 5);
const client = vcsimClient(
  {},
  {
    url: env("VSPHERE_URL"),
    username: env("VSPHERE_USERNAME"),
    password: env("VSPHERE_PASSWORD"),
    caFile: env("VSPHERE_CA_FILE"),
    thumbprint: "",
  },
);
const propSet = [
  { type: "VirtualMachine", pathSet: vmPaths },
  { type: "DistributedVirtualPortgroup", pathSet: ["key", "name"] },
];
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

try {
  await client.login();
  const dc = await createFinder(client).datacenter();
  if (env("BENCH_HEAP") === "1") {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const view = await createContainerView(client, dc.ref, [
      "VirtualMachine",
      "DistributedVirtualPortgroup",
    ]);
    gc();
    const before = process.memoryUsage().heapUsed;
    const objects = await view.retrieveTypes(propSet);
    gc();
    const heapKeptKiB = Math.round((process.memoryUsage().heapUsed - before) / 1024);
    console.log(JSON.stringify({ objects: objects.length, heapKeptKiB }));
    await view.destroy();
  } else {
    const rssBeforeKiB = process.resourceUsage().maxRSS;
    let started = performance.now();
    let cpu = process.cpuUsage();
    const view = await createContainerView(client, dc.ref, [
      "VirtualMachine",
      "DistributedVirtualPortgroup",
    ]);
    const first = await view.retrieveTypes(propSet);
    const firstMs = performance.now() - started;
    const firstCpuMs = cpuMs(cpu);
    const repeatedMs: number[] = [];
    const repeatedCpuMs: number[] = [];
    for (let i = 0; i < repeat; i++) {
      started = performance.now();
      cpu = process.cpuUsage();
      await view.retrieveTypes(propSet);
      repeatedMs.push(performance.now() - started);
      repeatedCpuMs.push(cpuMs(cpu));
    }
    const peakRssKiB = process.resourceUsage().maxRSS;
    await view.destroy();
    console.log(
      JSON.stringify({
        ...summarize(first),
        firstMs,
        repeatedMs,
        firstCpuMs,
        repeatedCpuMs,
        rssBeforeKiB,
        peakRssKiB,
      }),
    );
  }
} finally {
  await client.close();
}

/** VM and property counts, and a digest of every object's reference with its property count. */
function summarize(objects: ObjectContent[]) {
  const lines = objects.map((o) => `${o.obj.type}:${o.obj.value}:${o.propSet?.length ?? 0}\n`);
  // Sorted as Go's sort.Strings sorts: by code unit, which is by byte for ASCII.
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    vms: objects.filter((o) => o.obj.type === "VirtualMachine").length,
    objects: objects.length,
    properties: objects.reduce((n, o) => n + (o.propSet?.length ?? 0), 0),
    digest: createHash("sha256").update(lines.join("")).digest("hex"),
  };
}
