// bench/vsphere: listing 1,000 VMs on vcsim, in one run:
//   - ours against govmomi: the SDK's retrieval of provider-vsphere's property
//     set beside tools/govmomi-list making the same calls, each a fresh process,
//     first and repeated calls (median of 5), peak memory of the list;
//   - the property-collector path: one ListVMs of 1,000 (a container view and one
//     RetrievePropertiesEx for every VM's properties), as provider-vsphere does;
//   - one call per VM: a Describe of each VM (one RetrievePropertiesEx each), 8 at
//     a time, the provider's default limit toward vCenter.
// The last two through createVsphereProvider in this process against a vcsim of 1,000 VMs,
// counting SOAP round trips in the SDK and, as a cross-check, in vcsim itself.
import { type SideFigures, compareWithGovmomi, nodeFlags } from "./against-govmomi.js";
import { createProviderContext } from "./provider-context.js";
import type { RoundTripEvent } from "@virtrigaud/vsphere-sdk";
import { startVcsim, vcsimClient, vcsimStats } from "@virtrigaud/vsphere-sdk/testing";
import { createVsphereProvider } from "@virtrigaud/provider-vsphere";
import { create } from "@bufbuild/protobuf";
import {
  DescribeRequestSchema,
  ListVMsRequestSchema,
  ValidateRequestSchema,
} from "@virtrigaud/contracts";

const vmCount = Number(process.env["BENCH_VMS"] ?? 1000);
// -vm N puts N VMs in a cluster's root pool and N on a standalone host.
const vcsim = await startVcsim({
  vmsPerPool: Math.ceil(vmCount / 2),
  username: "bench@vsphere.local",
});
const events: RoundTripEvent[] = [];
const client = vcsimClient({ onRoundTrip: (e) => events.push(e) }, vcsim);
const provider = createVsphereProvider({ client });
const serverCalls = async () => Object.values(await vcsimStats(vcsim)).reduce((a, b) => a + b, 0);

try {
  await printAgainstGovmomi(Number(process.env["BENCH_RUNS"] ?? 5));
  const ctx = createProviderContext();
  // Log in first: both paths then start from a live session, and the login is not counted.
  await provider.validate(create(ValidateRequestSchema), ctx);

  const measure = async <T>(work: () => Promise<T>) => {
    events.length = 0;
    const before = await serverCalls();
    const started = performance.now();
    const result = await work();
    const ms = performance.now() - started;
    // vcsim counts SOAP calls only; reading its counts is not one.
    const server = (await serverCalls()) - before;
    return {
      result,
      ms,
      roundTrips: events.length,
      server,
      methods: countBy(events.map((e) => e.method)),
    };
  };

  const cold = await measure(() =>
    provider.listVMs(create(ListVMsRequestSchema, { pageSize: 1000 }), ctx),
  );
  const warm = await measure(() =>
    provider.listVMs(create(ListVMsRequestSchema, { pageSize: 1000 }), ctx),
  );
  const vms = cold.result.vms ?? [];
  const ids = vms.map((vm) => String(vm.id));
  const perVm = await measure(async () => {
    const out: unknown[] = new Array(ids.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ids.length) {
          const i = next++;
          out[i] = (
            await provider.describe(create(DescribeRequestSchema, { vmId: ids[i] ?? "" }), ctx)
          ).vm;
        }
      }),
    );
    return out;
  });
  const sequential = await measure(async () => {
    const out: unknown[] = [];
    for (const vmId of ids) {
      out.push((await provider.describe(create(DescribeRequestSchema, { vmId }), ctx)).vm);
    }
    return out;
  });
  // Both paths must see the same VMs.
  const same =
    JSON.stringify(perVm.result.map((vm) => strip(vm))) ===
    JSON.stringify(vms.map((vm) => strip(vm)));

  const rows = [
    ["path", "VMs", "SOAP round trips", "(vcsim counted)", "time", "calls"],
    [
      "property collector, first ListVMs",
      vms.length,
      cold.roundTrips,
      cold.server,
      `${cold.ms.toFixed(0)} ms`,
      cold.methods,
    ],
    [
      "property collector, next ListVMs",
      (warm.result.vms ?? []).length,
      warm.roundTrips,
      warm.server,
      `${warm.ms.toFixed(0)} ms`,
      warm.methods,
    ],
    [
      "one Describe per VM (8 at a time)",
      perVm.result.length,
      perVm.roundTrips,
      perVm.server,
      `${perVm.ms.toFixed(0)} ms`,
      perVm.methods,
    ],
    [
      "one Describe per VM (one at a time)",
      sequential.result.length,
      sequential.roundTrips,
      sequential.server,
      `${sequential.ms.toFixed(0)} ms`,
      sequential.methods,
    ],
  ].map((r) => r.map(String));
  console.log(`\nListVMs plus Describe of ${vms.length} VMs through provider-vsphere\n`);
  printTable(rows);
  console.log(
    `\nper-VM calls / property collector (first ListVMs): ${(perVm.roundTrips / cold.roundTrips).toFixed(0)}x the round trips; ` +
      `${(perVm.ms / cold.ms).toFixed(1)}x the time 8 at a time, ${(sequential.ms / cold.ms).toFixed(1)}x one at a time`,
  );
  console.log(
    "(the per-VM Describes find each VM by a reference ListVMs cached, one round trip each: the per-VM path's best case)",
  );
  console.log(`both paths report the same VMs: ${same ? "yes" : "NO"}`);
  console.log(
    `target (at most 3 round trips, under 2 s for 1,000 VMs): ${
      cold.roundTrips <= 3 && cold.ms < 2000 && vms.length >= 1000 ? "met" : "NOT met"
    }`,
  );
  if (!same) process.exitCode = 1;
} finally {
  await provider.close();
  await vcsim.stop();
}

async function printAgainstGovmomi(runs: number): Promise<void> {
  const { ours, govmomi, heapKeptKiB } = await compareWithGovmomi(vcsim, runs, 5);
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const row = (name: string, side: SideFigures) => {
    const [first] = side.reports;
    return [
      name,
      first?.vms ?? 0,
      first?.properties ?? 0,
      ms(side.firstMs),
      ms(side.repeatedMs),
      ms(side.firstCpuMs),
      ms(side.repeatedCpuMs),
      mib(side.listPeakKiB),
    ].map(String);
  };
  console.log(
    `bench/vsphere: ${vmCount} VMs on vcsim (${vcsim.url})\n\n` +
      "ours against govmomi: CreateContainerView, then RetrievePropertiesEx of provider-vsphere's " +
      `property set (and ContinueRetrievePropertiesEx); ${runs} fresh processes each, alternating; ` +
      `first call = view + retrieval (median of ${runs}), repeated call = retrieval ` +
      `(median of ${runs}x5); CPU = the lister's own (user + system, all threads); ours runs ` +
      `with provider-vsphere's Node flags (${nodeFlags.join(" ")})\n`,
  );
  printTable([
    [
      "lister",
      "VMs",
      "properties",
      "first call",
      "repeated call",
      "CPU first",
      "CPU repeated",
      "peak RSS of the list",
    ],
    row("ours (vsphere-sdk)", ours),
    row("govmomi 0.24", govmomi),
  ]);
  const firstRatio = ours.firstMs / govmomi.firstMs;
  const repeatedRatio = ours.repeatedMs / govmomi.repeatedMs;
  console.log(
    `\nours / govmomi: ${firstRatio.toFixed(2)}x first call, ${repeatedRatio.toFixed(2)}x repeated call; ` +
      `CPU ${(ours.firstCpuMs / govmomi.firstCpuMs).toFixed(2)}x first, ` +
      `${(ours.repeatedCpuMs / govmomi.repeatedCpuMs).toFixed(2)}x repeated`,
  );
  console.log(`heap the decoded answer keeps (ours): ${mib(heapKeptKiB)}`);
  // Every run of both sides must read the same objects with the same property counts.
  const all = [...ours.reports, ...govmomi.reports];
  const same = all.every(
    (r) =>
      r.digest === all[0]?.digest && r.vms === all[0].vms && r.properties === all[0].properties,
  );
  console.log(`both read the same VMs and property counts: ${same ? "yes" : "NO"}`);
  const worst = Math.max(firstRatio, repeatedRatio);
  console.log(
    `target (as fast as govmomi; no worse than 1.5x): ${
      worst <= 1 ? "met" : worst <= 1.5 ? "within 1.5x, not as fast" : "NOT met"
    }`,
  );
  if (!same) process.exitCode = 1;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

function countBy(items: string[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k}×${v}`).join(" ");
}

/** A VM without what may differ between two reads a moment apart. */
function strip(vm: unknown): unknown {
  const rest = { ...(vm as Record<string, unknown>) };
  delete rest["ipAddresses"];
  return rest;
}
