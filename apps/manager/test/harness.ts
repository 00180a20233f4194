import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@virtrigaud/contracts";
import {
  type ProviderClient,
  type ServiceClient,
  createProviderClient,
  createServiceClient,
} from "@virtrigaud/contracts/client";
import {
  Kind,
  ManagerService,
  type VMSnapshot,
  type VirtualMachine,
  ConditionStatus,
} from "@virtrigaud/proto/manager";
import { type Manager, type ManagerOptions, startManager } from "../src/manager.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { type AnyResource, fromResource } from "../src/manifest/kinds.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { eventually } from "./processes.js";

/** A manager running in the test process, serving its API on 127.0.0.1. */
export interface TestManager {
  manager: Manager;
  client: ServiceClient<typeof ManagerService>;
  url: string;
  dataDir: string;
  /** Applies YAML manifests through the API. */
  apply(yaml: string): Promise<void>;
  vm(name: string): VirtualMachine | undefined;
  snapshot(name: string): VMSnapshot | undefined;
  /** Waits until the VM's Ready condition is True, and returns it. */
  ready(name: string, timeoutMs?: number): Promise<VirtualMachine>;
  /** Event reasons recorded about a resource, oldest first. */
  reasons(kind: Kind, name: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Starts a manager with fast probes and sweeps, in a fresh data directory
 * (or `dataDir`), with `options` added.
 */
export async function startTestManager(
  dataDir?: string,
  options: Partial<ManagerOptions> = {},
): Promise<TestManager> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "vrtg-manager-"));
  const manager = await startManager({
    dataDir: dir,
    logger: createLogger({ level: "silent" }),
    serve: {
      listen: "127.0.0.1:0",
      opsListen: false,
      insecure: true,
      handleSignals: false,
      drainTimeoutMs: 1000,
    },
    healthIntervalMs: 300,
    driftPageIntervalMs: 150,
    minProbeIntervalMs: 100,
    maxProbeIntervalMs: 400,
    ...options,
  });
  const url = manager.server?.url ?? "";
  const client = createServiceClient(ManagerService, url);
  const get = (kind: Kind, name: string) => manager.store.get(kind, "default", name);
  const tm: TestManager = {
    manager,
    client,
    url,
    dataDir: dir,
    async apply(yaml) {
      for (const { manifest } of parseManifests(yaml, "test"))
        await client.apply({ resource: decodeManifest(manifest) });
    },
    vm: (name) => get(Kind.VIRTUAL_MACHINE, name) as VirtualMachine | undefined,
    snapshot: (name) => get(Kind.VM_SNAPSHOT, name) as VMSnapshot | undefined,
    ready: (name, timeoutMs = 15_000) =>
      eventually(
        () => {
          const vm = tm.vm(name);
          const ok =
            vm?.status?.conditions.find((c) => c.type === "Ready")?.status === ConditionStatus.TRUE;
          return ok ? vm : undefined;
        },
        timeoutMs,
        `VirtualMachine ${name} Ready`,
      ),
    reasons: async (kind, name) => {
      // Events are written in the background: wait for those already recorded.
      await manager.store.flush();
      const events = await manager.store.listEvents({ kind, name, namespace: "default" });
      return events.map((e) => e.reason);
    },
    async close() {
      client.close();
      await manager.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return tm;
}

/** A client straight to a provider, to look behind the manager's back. */
export function providerClient(url: string): ProviderClient {
  return createProviderClient(url);
}

/** The message inside a Resource. */
export function messageOf(resource: Parameters<typeof fromResource>[0]): AnyResource | undefined {
  return fromResource(resource)?.message;
}
