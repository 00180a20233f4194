// Helpers of the replica tests: managers on one PostgreSQL database as real
// processes, who leads as /readyz says, the lease row as PostgreSQL has it,
// provider-mock's call log, and the VMs at the provider.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createProviderClient } from "@virtrigaud/contracts/client";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { startProviderProcess } from "@virtrigaud/contracts/testing";
import {
  ConditionStatus,
  Kind,
  ManagerService,
  type Resource,
  type VirtualMachine,
} from "@virtrigaud/proto/manager";
import type { VirtualMachine as ProviderVm } from "@virtrigaud/proto";
import pg from "pg";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import type { ServerProcess } from "./processes.js";

const managerBin = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** A manager started on a PostgreSQL store, with its name among the replicas. */
export interface Replica extends ServerProcess {
  id: string;
  /** What it wrote to stderr since it served (a crash's stack, say). */
  stderr(): string;
}

/**
 * Runs virtrigaud-manager on `storeUrl` as replica `id`, on loopback ports of
 * its own, with quick provider probes; `args` come last and may add to them.
 */
export async function spawnReplica(
  storeUrl: string,
  id: string,
  args: string[] = [],
): Promise<Replica> {
  const server = await startProviderProcess({
    args: [
      managerBin,
      "--insecure",
      "--store",
      storeUrl,
      "--replica-id",
      id,
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "127.0.0.1:0",
      "--health-interval",
      "300ms",
      "--drift-page-interval",
      "200ms",
      "--max-probe-interval",
      "2s",
      ...args,
    ],
    timeoutMs: 20_000,
  });
  let stderr = "";
  server.child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return Object.assign(server, { id, stderr: () => stderr });
}

/** Who leads, as a replica's /readyz says. */
export interface ReadyzLeadership {
  status: string;
  replica: string;
  leading: boolean;
  leader?: { replica: string; term: string; since: string };
}

/** A replica's /readyz answer (served with 503 while not SERVING, with the same body). */
export async function readyz(replica: ServerProcess): Promise<ReadyzLeadership> {
  const response = await fetch(`${replica.opsUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
  return (await response.json()) as ReadyzLeadership;
}

/** How each replica ended, with the end of its stderr and its last log lines, for a failed test's output. */
export function replicaReport(replicas: readonly Replica[]): string {
  return replicas
    .map((r) => {
      const end = r.child.exitCode ?? r.child.signalCode ?? "running";
      const logs = r.logs.slice(-8).map((line) => JSON.stringify(line));
      return `${r.id}: ${end}\n${r.stderr().slice(-2000)}\n${logs.join("\n")}`;
    })
    .join("\n\n");
}

/** The replica among `replicas` that says it leads, or undefined. */
export async function leaderAmong(replicas: readonly Replica[]): Promise<Replica | undefined> {
  for (const replica of replicas) {
    const status = await readyz(replica).catch(() => undefined);
    if (status?.leading) return replica;
  }
  return undefined;
}

/** The lease row as PostgreSQL has it, times in milliseconds since the epoch. */
export interface LeaseRow {
  holder: string;
  term: bigint;
  acquiredAt: number;
  expiresAt: number;
}

/** Reads the controllers' lease from `url` (directly, not through any proxy). */
export async function readLease(url: string): Promise<LeaseRow | undefined> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{
      holder: string;
      term: string;
      acquired_at: Date;
      expires_at: Date;
    }>(
      "SELECT holder, term::text AS term, acquired_at, expires_at FROM leader_lease WHERE name = 'controllers'",
    );
    const row = rows[0];
    return row
      ? {
          holder: row.holder,
          term: BigInt(row.term),
          acquiredAt: row.acquired_at.getTime(),
          expiresAt: row.expires_at.getTime(),
        }
      : undefined;
  } finally {
    await client.end();
  }
}

/** One line of provider-mock's --call-log. */
export interface ProviderCall {
  at: number;
  method: string;
  term: string | null;
  ok: boolean;
}

/** The calls provider-mock logged to `file` so far (a line being written is left out). */
export function readCallLog(file: string): ProviderCall[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line.endsWith("}"))
    .map((line) => JSON.parse(line) as ProviderCall);
}

/** The RPCs that change something at a provider: the ones a deposed leader must not make. */
export const mutatingMethods: ReadonlySet<string> = new Set([
  "Create",
  "Delete",
  "Power",
  "Reconfigure",
  "Clone",
  "SnapshotCreate",
  "SnapshotDelete",
  "SnapshotRevert",
  "ImagePrepare",
]);

/** Every VM at the provider, page by page. */
export async function providerVms(url: string): Promise<ProviderVm[]> {
  const client = createProviderClient(url);
  try {
    const vms: ProviderVm[] = [];
    let pageToken = "";
    do {
      const page = await client.listVMs({ pageSize: 1000, pageToken });
      vms.push(...page.vms);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return vms;
  } finally {
    client.close();
  }
}

/** The resources of a YAML stream, as Apply takes them. */
export function resourcesOf(yaml: string): Resource[] {
  return parseManifests(yaml, "test").map((m) => decodeManifest(m.manifest));
}

/** A ManagerService client of `replica`, retries off so a test sees each refusal. */
export function managerClient(replica: ServerProcess) {
  return createServiceClient(ManagerService, replica.url, { retry: false });
}

/** The stored VirtualMachines, listed through `replica`. */
export async function storedVms(replica: ServerProcess): Promise<VirtualMachine[]> {
  const client = managerClient(replica);
  try {
    const { resources } = await client.list({ kind: Kind.VIRTUAL_MACHINE });
    return resources.flatMap((r) => (r.kind.case === "virtualMachine" ? [r.kind.value] : []));
  } finally {
    client.close();
  }
}

/** Whether the VM's Ready condition is True. */
export function isReady(vm: VirtualMachine): boolean {
  return (
    vm.status?.conditions.some((c) => c.type === "Ready" && c.status === ConditionStatus.TRUE) ??
    false
  );
}

/** `url` with its port replaced (a replica's store URL through a proxy). */
export function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}
