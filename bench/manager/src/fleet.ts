import type { Client } from "@connectrpc/connect";
import { decodeManifest } from "@virtrigaud/manager";
import type { ManagerService } from "@virtrigaud/proto/manager";

/** The name of the benchmark's VM number `i`: vm-00000, vm-00001, ... */
export const vmName = (i: number) => `vm-${String(i).padStart(5, "0")}`;

/** The VM number `i` of a benchmark's fleet, on provider "mock" with class "small". */
export function vmManifest(i: number, labels: Record<string, string> = {}, powerState = "On") {
  return decodeManifest({
    apiVersion: "infra.virtrigaud.io/v1beta1",
    kind: "VirtualMachine",
    metadata: { name: vmName(i), labels },
    spec: { providerRef: { name: "mock" }, classRef: { name: "small" }, powerState },
  });
}

/** Applies what the fleet's VMs refer to: the Provider "mock" at `providerUrl` and the VMClass "small". */
export async function applyFleetBase(
  client: Client<typeof ManagerService>,
  providerUrl: string,
): Promise<void> {
  const base = [
    {
      apiVersion: "infra.virtrigaud.io/v1beta1",
      kind: "Provider",
      metadata: { name: "mock" },
      spec: { type: "mock", endpoint: providerUrl },
    },
    {
      apiVersion: "infra.virtrigaud.io/v1beta1",
      kind: "VMClass",
      metadata: { name: "small" },
      spec: { cpu: 2, memory: "2Gi" },
    },
  ];
  for (const m of base) await client.apply({ resource: decodeManifest(m) });
}

/**
 * Applies VMs 0 to n-1 with `concurrency` applies in flight, going round
 * `clients` (managers that share a store each serve the API).
 */
export async function applyFleet(
  clients: readonly Client<typeof ManagerService>[],
  n: number,
  concurrency: number,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const client = clients[i % clients.length];
        if (!client) throw new Error("applyFleet needs a client");
        await client.apply({ resource: vmManifest(i) });
      }
    }),
  );
}
