import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "@jest/globals";
import { createProviderClient, createServiceClient } from "@virtrigaud/contracts/client";
import {
  ConditionStatus,
  Kind,
  ManagerService,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { fromResource } from "../src/manifest/kinds.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { stack, vmManifest } from "./fixtures.js";
import { type ServerProcess, eventually, spawnManager, spawnMock } from "./processes.js";

const count = 50;
const kills = 8;

describe("crash safety", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-crash-"));
  const processes: ServerProcess[] = [];
  afterAll(async () => {
    for (const p of processes) await p.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it(`survives kill -9 of the manager during ${count} creates: exactly ${count} VMs, none orphaned, all Ready`, async () => {
    // Every provider task takes 300 ms, so kills land between intent, Create and its task.
    const mock = await spawnMock(["--latency", "300ms"]);
    processes.push(mock);
    const data = join(dir, "data");
    const args = ["--health-interval", "500ms", "--drift-page-interval", "300ms"];
    let manager = await spawnManager(data, args);
    processes.push(manager);

    let client = createServiceClient(ManagerService, manager.url);
    const manifests = [
      stack(mock.url),
      ...Array.from({ length: count }, (_, i) => vmManifest(`crash-${i}`)),
    ].join("---\n");
    for (const { manifest } of parseManifests(manifests, "crash"))
      await client.apply({ resource: decodeManifest(manifest) });
    client.close();

    const provider = createProviderClient(mock.url);
    const seenAtKill: number[] = [];
    for (let i = 0; i < kills; i++) {
      await new Promise((r) => setTimeout(r, 150 + ((i * 137) % 400)));
      await manager.stop("SIGKILL");
      seenAtKill.push(
        (await provider.listVMs({ pageSize: 1000 })).vms.filter(
          (v) => v.providerFields["phase"] === "ready",
        ).length,
      );
      manager = await spawnManager(data, args);
      processes.push(manager);
    }

    client = createServiceClient(ManagerService, manager.url);
    const vms = await eventually(
      async () => {
        const { resources } = await client.list({
          kind: Kind.VIRTUAL_MACHINE,
          namespace: "default",
        });
        const all = resources.map((r) => fromResource(r)?.message as VirtualMachine);
        const ready = all.filter((vm) =>
          vm.status?.conditions.some(
            (c) => c.type === "Ready" && c.status === ConditionStatus.TRUE,
          ),
        );
        return ready.length === count ? all : undefined;
      },
      60_000,
      `${count} VMs Ready`,
    );
    client.close();

    // The kills landed while creates were under way, not after.
    expect(seenAtKill.some((n) => n < count)).toBe(true);
    const { vms: atProvider } = await provider.listVMs({ pageSize: 1000 });
    provider.close();
    expect(atProvider).toHaveLength(count);
    const byName = new Map(vms.map((vm) => [vm.metadata?.name, vm]));
    for (const seen of atProvider) {
      const vm = byName.get(seen.name);
      // Not orphaned: each belongs to the resource of its name, bound to this very VM.
      expect(vm).toBeDefined();
      expect(seen.labels["virtrigaud.io/uid"]).toBe(vm?.metadata?.uid);
      expect(vm?.status?.id).toBe(seen.id);
    }
    expect(new Set(atProvider.map((v) => v.name)).size).toBe(count);
  }, 180_000);
});
