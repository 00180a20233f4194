import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { copyDisk } from "@virtrigaud/contracts";
import { type ProviderClient, createProviderClient } from "@virtrigaud/contracts/client";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { spawnMock } from "./spawn-mock.js";

// Two mock processes and copyDisk between them, as the manager moves a
// disk: real sockets, the flags a test of the manager would use.

let source: ProviderProcess;
let target: ProviderProcess;
let sourceClient: ProviderClient;
let targetClient: ProviderClient;

beforeAll(async () => {
  [source, target] = await Promise.all([
    spawnMock([
      "--insecure",
      "--disk-bytes",
      "12Mi",
      "--fault",
      "diskExportRead:corrupt-chunk:times=2",
    ]),
    spawnMock(["--insecure", "--disk-memory", "64Mi"]),
  ]);
  sourceClient = createProviderClient(source.url, { retry: false });
  targetClient = createProviderClient(target.url, { retry: false });
});
afterAll(async () => {
  sourceClient.close();
  targetClient.close();
  await Promise.all([source.stop("SIGTERM"), target.stop("SIGTERM")]);
});

it("moves a 12 MiB disk between two mock processes, reading again the chunks damaged on the way", async () => {
  const { vmId, task } = await sourceClient.create({
    name: "web-1",
    class: { cpu: 1, memoryMib: 512 },
    image: { source: { case: "template", value: "debian-12" } },
  });
  await sourceClient.waitForTask(task);
  const { export: made } = await sourceClient.diskExportBegin({
    exportId: "e-1",
    vmId,
    diskName: "root",
  });
  if (!made) throw new Error("no export");
  const result = await copyDisk({
    source: sourceClient,
    target: targetClient,
    export: made,
    importId: "imp-1",
  });
  expect(result.resentChunks).toBe(2);
  // Caught on arrival, the damaged chunks never reached the target: nothing was written twice.
  expect(result.writtenBytes).toBe(12 * 1024 * 1024);

  const created = await targetClient.create({
    name: "web-1",
    class: { cpu: 1, memoryMib: 512 },
    image: result.disk,
  });
  await targetClient.waitForTask(created.task);
  const { export: again } = await targetClient.diskExportBegin({
    exportId: "e-2",
    vmId: created.vmId,
    diskName: "root",
  });
  expect([again?.sha256, again?.sizeBytes]).toEqual([made.sha256, made.sizeBytes]);
});
