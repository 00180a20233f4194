import { afterEach, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { DiskRangeSchema, ImageFormat, ProviderService, createLogger } from "@virtrigaud/contracts";
import { serveServices, servedService } from "@virtrigaud/contracts/server";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { type ConformanceReport, type ProfileName, runConformance } from "../src/index.js";
import { type Lies, startLyingProxy } from "./lying-proxy.js";
import { startMock } from "./mock-process.js";

// A suite that cannot fail is worthless: each provider below breaks one
// promise of the contract, and vcts must fail, naming the broken case.

let mock: ProviderProcess | undefined;
afterEach(async () => {
  await mock?.stop();
  mock = undefined;
});

async function runAgainstFaultyMock(
  fault: string,
  profiles: ProfileName[],
): Promise<ConformanceReport> {
  mock = await startMock(["--fault", fault]);
  return runConformance({
    endpoint: mock.url,
    insecure: true,
    profiles,
    caseTimeoutMs: 30_000,
    settleMs: 1000,
  });
}

function failed(report: ConformanceReport) {
  return Object.fromEntries(
    report.cases.filter((c) => c.status === "failed").map((c) => [c.id, c.error]),
  );
}

it("fails a provider whose disk reads always come back damaged", async () => {
  const report = await runAgainstFaultyMock("diskExportRead:corrupt-chunk", ["disk"]);
  expect(report.ok).toBe(false);
  expect(failed(report)["disk/round-trip"]).toMatch(
    /copying export .* failed: \[data_loss\] export .* the chunk's bytes do not match its sha256/,
  );
});

it("fails a provider whose Create does not create", async () => {
  const report = await runAgainstFaultyMock("create:phantom-create", ["core"]);
  expect(report.ok).toBe(false);
  expect(failed(report)["core/create-describe-delete"]).toMatch(
    /Describe .* says the VM does not exist/,
  );
});

it("fails a provider that lies about power state", async () => {
  const report = await runAgainstFaultyMock("describe:lie-power-state", ["power"]);
  expect(report.ok).toBe(false);
  expect(failed(report)["power/on-off"]).toMatch(/the VM is on after Power ON: not so/);
});

it("fails a provider that declares snapshots but cannot take them", async () => {
  const report = await runAgainstFaultyMock("snapshotCreate:fail-task:reason=internal", [
    "snapshot",
  ]);
  expect(report.ok).toBe(false);
  expect(report.profiles.find((p) => p.name === "snapshot")?.declared).toBe(true);
  expect(failed(report)["snapshot/lifecycle"]).toMatch(
    /the task of SnapshotCreate before failed: \[internal\]/,
  );
});

it("fails a provider whose VMs survive Delete, and reports them left behind", async () => {
  const report = await runAgainstFaultyMock("delete:survive-delete", ["core"]);
  expect(report.ok).toBe(false);
  expect(failed(report)["core/create-describe-delete"]).toMatch(
    /Describe still finds .* after its Delete finished/,
  );
  expect(report.leftovers.length).toBeGreaterThan(0);
  expect(report.leftovers.every((name) => name.startsWith(report.prefix))).toBe(true);
});

it("fails a provider that answers an RPC it does not declare", async () => {
  // Not built on serveProvider, so nothing gates it: it claims no snapshot
  // support, yet takes snapshots.
  const server = await serveServices({
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
    readiness: () => Promise.resolve(),
    services: [
      servedService(ProviderService, {
        getCapabilities: () => ({ capabilities: { providerType: "liar", fullClones: false } }),
        validate: () => ({}),
        create: (request) => ({ vmId: `vm-${request.name}` }),
        delete: () => ({}),
        describe: (request) => ({
          exists: true,
          vm: { id: request.vmId, name: request.vmId.slice(3) },
        }),
        snapshotCreate: () => ({ snapshotId: "snap-1" }),
        snapshotList: () => ({}),
      }),
    ],
  });
  try {
    const report = await runConformance({
      endpoint: server.url,
      insecure: true,
      profiles: ["snapshot"],
    });
    expect(report.ok).toBe(false);
    expect(report.cases.find((c) => c.id === "snapshot/lifecycle")?.mode).toBe("undeclared");
    expect(failed(report)["snapshot/lifecycle"]).toMatch(
      /SnapshotCreate: expected unsupported, but the call succeeded/,
    );
  } finally {
    await server.close();
  }
});

/** Runs `profiles` against provider-mock behind a proxy telling `lies`. */
async function runBehindLies(lies: Lies, profiles: ProfileName[]): Promise<ConformanceReport> {
  mock = await startMock();
  const proxy = await startLyingProxy(mock.url, lies);
  try {
    return await runConformance({
      endpoint: proxy.url,
      insecure: true,
      profiles,
      caseTimeoutMs: 30_000,
      settleMs: 1000,
    });
  } finally {
    await proxy.close();
  }
}

it("says what a SnapshotList that still lists a deleted snapshot answered, timestamp and all", async () => {
  // An honest provider-mock behind a proxy whose SnapshotDelete deletes nothing.
  const report = await runBehindLies({ keepSnapshots: true }, ["snapshot"]);
  expect(report.ok).toBe(false);
  expect(failed(report)["snapshot/lifecycle"]).toMatch(
    /^SnapshotList after delete: expected \[\], got \[\{"id":"[^"]+","name":"before",.*"createTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"\}\]$/,
  );
});

it("fails a provider that exports a running VM's disk as it is now when asked for a snapshot", async () => {
  const report = await runBehindLies(
    {
      exportRequest(request) {
        request.snapshotId = "";
      },
    },
    ["disk-sync"],
  );
  expect(report.ok).toBe(false);
  expect(failed(report)["disk-sync/at-snapshot"]).toMatch(
    /^DiskExportBegin at a snapshot the VM does not have: expected not_found, got \[conflict\]/,
  );
});

it("fails a provider whose changed ranges overlap", async () => {
  const report = await runBehindLies(
    {
      exportAnswer(answer) {
        if (answer.export?.format === ImageFormat.RAW && answer.export.sizeBytes > 8192n) {
          answer.export.changedRanges = [
            create(DiskRangeSchema, { offset: 0n, length: 8192n }),
            create(DiskRangeSchema, { offset: 4096n, length: 8192n }),
          ];
        }
      },
    },
    ["disk-sync"],
  );
  expect(report.ok).toBe(false);
  expect(failed(report)["disk-sync/changed-ranges"]).toBe(
    "changed range 1 at 4096 is not after the one before it (which ends at 8192)",
  );
});

it("fails a provider that checks a rewritten import against its first sha256", async () => {
  const report = await runBehindLies(
    {
      commitRequest(request) {
        request.sha256 = "";
      },
    },
    ["disk-sync"],
  );
  expect(report.ok).toBe(false);
  expect(failed(report)["disk-sync/rewrite"]).toMatch(
    /^DiskImportCommit under the rewritten file's sha256 failed: \[data_loss\]/,
  );
});

it("says a case ran out of time, not that the provider failed internally", async () => {
  const report = await runConformance({
    endpoint: (mock = await startMock(["--fault", "create:delay:delayMs=5000"])).url,
    insecure: true,
    profiles: ["core"],
    caseTimeoutMs: 500,
  });
  expect(failed(report)["core/create-describe-delete"]).toBe("the case took longer than 500 ms");
});
