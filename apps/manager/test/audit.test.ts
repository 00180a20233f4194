import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { Kind, ManagerService } from "@virtrigaud/proto/manager";
import type { AuditEntry } from "../src/audit/audit-entry.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { readAuditDir } from "./audit-files.js";
import { stack, vmManifest } from "./fixtures.js";
import { type ServerProcess, spawnManager, spawnMock, vrtg } from "./processes.js";

// A manager process writing its audit log, called over real sockets by
// vrtg and by Connect and gRPC clients.
const dir = mkdtempSync(join(tmpdir(), "vrtg-audit-"));
const auditPath = join(dir, "audit", "audit.log");
const marker = "audit-marker-5f1c";
let mock: ServerProcess;
let manager: ServerProcess;

const readAudit = (): AuditEntry[] => readAuditDir(join(dir, "audit"));

beforeAll(async () => {
  mock = await spawnMock();
  mkdirSync(join(dir, "audit"));
  manager = await spawnManager(join(dir, "data"), [
    "--audit-log",
    auditPath,
    "--audit-log-max-size",
    "16Ki",
    "--audit-log-max-files",
    "20",
  ]);
  writeFileSync(join(dir, "stack.yaml"), stack(mock.url));
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await mock?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

const vmResource = (name: string, cpu: number) =>
  decodeManifest(
    parseManifests(
      vmManifest(name, { cpu }).replace("#cloud-config", `#cloud-config\n        # ${marker}`),
      "t",
    )[0]?.manifest,
  );

it("writes one line per mutating call, with who, from where, what and the version left", async () => {
  expect((await vrtg(manager.url, ["apply", "-f", join(dir, "stack.yaml")])).code).toBe(0);
  const clients = {
    connect: createServiceClient(ManagerService, manager.url, { protocol: "connect" }),
    grpc: createServiceClient(ManagerService, manager.url, { protocol: "grpc" }),
  };
  let mutating = 8; // the stack's four resources, each checked (a dry run) and then applied
  const versions = new Set<string>();
  for (let i = 0; i < 60; i++) {
    const client = i % 2 ? clients.grpc : clients.connect;
    const name = `vm-${i % 20}`;
    const applied = await client.apply({ resource: vmResource(name, 1 + (i % 3)) });
    mutating++;
    const stored = applied.resource?.kind.value?.metadata?.resourceVersion;
    if (stored) versions.add(stored);
    // Reads are not audited.
    await client.get({ kind: Kind.VIRTUAL_MACHINE, name });
    await client.list({ kind: Kind.VIRTUAL_MACHINE });
    if (i % 10 === 9) {
      // A refused write is a mutating call too; a dry run stores nothing but is audited.
      await expect(client.apply({ resource: vmResource("Bad_Name", 1) })).rejects.toThrow(/name/);
      await client.apply({ resource: vmResource(`dry-${i}`, 1), dryRun: true });
      mutating += 2;
    }
  }
  await clients.connect.delete({ kind: Kind.VIRTUAL_MACHINE, name: "vm-0" });
  mutating++;

  const entries = readAudit();
  expect(entries).toHaveLength(mutating);
  // Rotated at 16 KiB: the records span several files and none was lost.
  expect(readdirSync(join(dir, "audit")).length).toBeGreaterThan(1);
  expect(statSync(auditPath).mode & 0o777).toBe(0o600);
  for (const e of entries) {
    expect(e.identity).toEqual({ name: "anonymous", groups: [], method: "anonymous" });
    expect(e.source).toBe("127.0.0.1");
    expect(["Apply", "Delete"]).toContain(e.rpc);
  }
  expect(entries.filter((e) => e.outcome === "invalid_argument")).toHaveLength(6);
  expect(entries.filter((e) => e.dryRun)).toHaveLength(4 + 6); // vrtg checks the stack first
  const created = entries.filter(
    (e) => e.verb === "create" && !e.dryRun && e.kind === "VirtualMachine" && e.outcome === "ok",
  );
  expect(created).toHaveLength(20);
  // Every version a successful write returned is in the log.
  const logged = new Set(entries.map((e) => e.resourceVersion));
  for (const v of versions) expect(logged.has(v)).toBe(true);
  expect(entries.at(-1)).toMatchObject({
    rpc: "Delete",
    verb: "delete",
    name: "vm-0",
    outcome: "ok",
  });
  // Never a resource's content.
  for (const f of readdirSync(join(dir, "audit")))
    expect(readFileSync(join(dir, "audit", f), "utf8")).not.toContain(marker);
}, 120_000);

it("reads the recent records back through vrtg audit", async () => {
  const table = await vrtg(manager.url, ["audit"]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^TIME\s+IDENTITY\s+SOURCE\s+VERB\s+RESOURCE\s+OUTCOME\s+VERSION/);
  expect(table.stdout).toMatch(
    /anonymous\s+127\.0\.0\.1\s+delete\s+VirtualMachine default\/vm-0\s+ok/,
  );
  const json = await vrtg(manager.url, ["audit", "-o", "json"]);
  const entries = (JSON.parse(json.stdout) as { entries: { verb: string }[] }).entries;
  expect(entries).toHaveLength(readAudit().length);
  expect(json.stdout).not.toContain(marker);
}, 30_000);
