import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  ConditionStatus,
  Kind,
  ManagerService,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { decodeManifest, fromResource } from "@virtrigaud/manager";
import { peakRssMiB, providerCalls, startServer } from "./processes.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000" },
    steady: { type: "string", default: "60" },
    "drift-page-interval": { type: "string", default: "5s" },
    "health-interval": { type: "string", default: "10s" },
  },
});
const sizes = (values.sizes ?? "").split(",").map(Number);
const steadySeconds = Number(values.steady);

interface Figures {
  vms: number;
  applySeconds: number;
  readySeconds: number;
  managerPeakRssMiB: number;
  mockPeakRssMiB: number;
  convergenceRpcs: Record<string, number>;
  steadyRpcsPerMinute: Record<string, number>;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

async function runSize(n: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-manager-"));
  const mock = await startServer("mock", []);
  const manager = await startServer("manager", [
    "--data",
    join(dir, "data"),
    "--drift-page-interval",
    values["drift-page-interval"] ?? "5s",
    "--health-interval",
    values["health-interval"] ?? "10s",
  ]);
  const client = createServiceClient(ManagerService, manager.url, { defaultTimeoutMs: 120_000 });
  try {
    const base = [
      {
        apiVersion: "infra.virtrigaud.io/v1beta1",
        kind: "Provider",
        metadata: { name: "mock" },
        spec: { type: "mock", endpoint: mock.url },
      },
      {
        apiVersion: "infra.virtrigaud.io/v1beta1",
        kind: "VMClass",
        metadata: { name: "small" },
        spec: { cpu: 2, memory: "2Gi" },
      },
    ];
    for (const m of base) await client.apply({ resource: decodeManifest(m) });
    const started = performance.now();
    let next = 0;
    // 64 applies in flight, as a CI pipeline applying a directory in parallel might.
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < n; i = next++) {
          await client.apply({
            resource: decodeManifest({
              apiVersion: "infra.virtrigaud.io/v1beta1",
              kind: "VirtualMachine",
              metadata: { name: `vm-${String(i).padStart(5, "0")}` },
              spec: {
                providerRef: { name: "mock" },
                classRef: { name: "small" },
                powerState: "On",
              },
            }),
          });
        }
      }),
    );
    const applySeconds = (performance.now() - started) / 1000;
    let ready = 0;
    while (ready < n) {
      await new Promise((r) => setTimeout(r, 250));
      const { resources } = await client.list({ kind: Kind.VIRTUAL_MACHINE, namespace: "default" });
      ready = resources.filter((r) =>
        (fromResource(r)?.message as VirtualMachine).status?.conditions.some(
          (c) => c.type === "Ready" && c.status === ConditionStatus.TRUE,
        ),
      ).length;
      if ((performance.now() - started) / 1000 > 600)
        throw new Error(`only ${ready} of ${n} Ready after 600 s`);
    }
    const readySeconds = (performance.now() - started) / 1000;
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
      vms: n,
      applySeconds,
      readySeconds,
      managerPeakRssMiB: peakRssMiB(manager.child.pid ?? 0),
      mockPeakRssMiB: peakRssMiB(mock.child.pid ?? 0),
      convergenceRpcs,
      steadyRpcsPerMinute: steady,
    };
  } finally {
    client.close();
    await manager.stop();
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Figures[] = [];
for (const n of sizes) {
  process.stdout.write(`running ${n} VMs...\n`);
  const f = await runSize(n);
  results.push(f);
  process.stdout.write(
    `${n} VMs: applied in ${f.applySeconds.toFixed(1)} s, all Ready in ${f.readySeconds.toFixed(1)} s ` +
      `(${(n / f.readySeconds).toFixed(0)} VMs/s); manager peak RSS ${f.managerPeakRssMiB.toFixed(0)} MiB, ` +
      `provider-mock peak RSS ${f.mockPeakRssMiB.toFixed(0)} MiB\n` +
      `  provider RPCs to converge: ${sum(f.convergenceRpcs)} (${Object.entries(f.convergenceRpcs)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}), ${(sum(f.convergenceRpcs) / n).toFixed(2)} per VM\n` +
      `  steady state over ${steadySeconds} s: ${sum(f.steadyRpcsPerMinute).toFixed(1)} provider RPCs per minute (${Object.entries(
        f.steadyRpcsPerMinute,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")})\n`,
  );
}
if (results.length > 1) {
  const [small, large] = [results[0], results[results.length - 1]] as [Figures, Figures];
  process.stdout.write(
    `\nratio ${large.vms}/${small.vms} VMs: time to Ready x${(large.readySeconds / small.readySeconds).toFixed(1)}, ` +
      `peak RSS x${(large.managerPeakRssMiB / small.managerPeakRssMiB).toFixed(1)}, ` +
      `steady-state RPCs per minute x${(sum(large.steadyRpcsPerMinute) / Math.max(1, sum(small.steadyRpcsPerMinute))).toFixed(2)}\n`,
  );
}
