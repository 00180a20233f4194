import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { ProviderError } from "@virtrigaud/contracts";
import { afterAll, beforeAll, expect, it, jest } from "@jest/globals";
import { createServiceClient } from "@virtrigaud/contracts/client";
import { ConditionStatus, Kind, ManagerService, type Resource } from "@virtrigaud/proto/manager";
import type { AuditEntry } from "../src/audit/audit-entry.js";
import { tokenLine } from "../src/auth/token-file.js";
import { fromResource } from "../src/manifest/kinds.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { readAuditDir } from "./audit-files.js";
import { stack, vmManifest } from "./fixtures.js";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.js";
import {
  type ServerProcess,
  eventually,
  runManager,
  spawnManager,
  spawnMock,
} from "./processes.js";

// 1,000 calls of every kind from three identities (and an intruder) to a
// manager with authentication, Secrets and an audit log, over real sockets:
// the audit log has exactly one line per mutating or refused call, with who
// made it, and the Secrets' value is in no log, event, status, trace,
// audit line, metric or store file.
jest.setTimeout(240_000);

const dir = mkdtempSync(join(tmpdir(), "audit-identities-"));
const auditDir = join(dir, "audit");
const secretValue = `s3cr3t-${randomUUID()}`;
const tokens = { root: randomUUID(), eddie: randomUUID(), vic: randomUUID() };
type Who = keyof typeof tokens | "intruder";

let mock: ServerProcess;
let manager: ServerProcess;
let receiver: OtlpReceiver;

const manifest = (yaml: string): Resource => {
  const [first] = parseManifests(yaml, "test");
  return decodeManifest(first?.manifest);
};
const vmClass = (name: string, namespace: string, cpu: number) =>
  manifest(`apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: ${name}, namespace: ${namespace}}
spec: {cpu: ${cpu}, memory: 1Gi}
`);
const secret = (name: string, namespace: string, n: number) =>
  manifest(`apiVersion: infra.virtrigaud.io/v1beta1
kind: Secret
metadata: {name: ${name}, namespace: ${namespace}}
stringData:
  userdata: "#cloud-config\\npassword: ${secretValue}-${n}"
`);

function clientOf(who: Who) {
  const token = who === "intruder" ? "not-a-token-of-this-manager" : tokens[who];
  return createServiceClient(ManagerService, manager.url, {
    headers: { authorization: `Bearer ${token}` },
    retry: false,
  });
}

beforeAll(async () => {
  mkdirSync(auditDir);
  writeFileSync(
    join(dir, "tokens"),
    `${tokenLine(tokens.root, "root", [])}\n${tokenLine(tokens.eddie, "eddie", ["dev"])}\n${tokenLine(tokens.vic, "vic", ["auditors"])}\n`,
  );
  const keyFile = join(dir, "keys.yaml");
  expect((await runManager(["secret-key", "generate", keyFile])).code).toBe(0);
  receiver = await startOtlpReceiver();
  mock = await spawnMock();
  manager = await spawnManager(
    join(dir, "data"),
    [
      "--token-file",
      join(dir, "tokens"),
      "--bootstrap-admin",
      "user:root",
      "--secret-key-file",
      keyFile,
      "--audit-log",
      join(auditDir, "audit.log"),
      "--audit-log-max-size",
      "64Ki",
      "--audit-log-max-files",
      "50",
      "--log-level",
      "debug",
    ],
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
  );
}, 60_000);

afterAll(async () => {
  await manager?.stop();
  await mock?.stop();
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

const readAudit = (): AuditEntry[] => readAuditDir(auditDir);

it("audits exactly the mutating and refused calls of three identities, and leaks the secret nowhere", async () => {
  const root = clientOf("root");
  // The roles: vic views everything (no Secrets), eddie edits team-a only.
  const bindings = parseManifests(
    `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: auditors-view}
subjects: [{kind: Group, name: auditors}]
roleRef: {kind: ClusterRole, name: viewer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dev-edit, namespace: team-a}
subjects: [{kind: User, name: eddie}]
roleRef: {kind: ClusterRole, name: editor}
`,
    "rbac",
  );
  for (const { manifest: m } of bindings) await root.apply({ resource: decodeManifest(m) });
  // A VM whose cloud-init comes from a Secret: the value goes to the provider only.
  for (const { manifest: m } of parseManifests(stack(mock.url), "stack"))
    await root.apply({ resource: decodeManifest(m) });
  await root.apply({ resource: secret("boot", "default", 0) });
  const vm = vmManifest("web-1").replace(
    / {2}userData:\n {4}cloudInit:\n {6}inline: \|\n( {8}.*\n)+/,
    "  userData:\n    cloudInit:\n      secretRef:\n        name: boot\n",
  );
  await root.apply({ resource: manifest(vm) });

  // The calls, and what each client saw.
  const identities: Who[] = ["root", "eddie", "vic"];
  const clients = new Map<Who, ReturnType<typeof clientOf>>(
    [...identities, "intruder" as const].map((w) => [w, clientOf(w)]),
  );
  const seen = new Map<string, number>();
  const tally = (who: Who, rpc: string, outcome: string) => {
    const key = `${who} ${rpc} ${outcome}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  };
  const codeName = (code: Code) =>
    Code[code].replace(/[A-Z]/g, (c, i: number) => (i ? "_" : "") + c.toLowerCase());
  const operations: Array<(who: Who, n: number) => [string, () => Promise<unknown>]> = [
    (who, n) => [
      "Apply",
      () => clients.get(who)!.apply({ resource: vmClass(`c-${n % 25}`, "team-a", 1 + (n % 3)) }),
    ],
    (who) => [
      "Get",
      () => clients.get(who)!.get({ kind: Kind.SECRET, namespace: "team-a", name: "s-1" }),
    ],
    (who) => ["List", () => clients.get(who)!.list({ kind: Kind.VM_CLASS, namespace: "team-a" })],
    (who, n) => [
      "Apply",
      () => clients.get(who)!.apply({ resource: secret(`s-${n % 5}`, "team-a", n) }),
    ],
    (who, n) => [
      "Apply",
      () => clients.get(who)!.apply({ resource: vmClass(`b-${n % 7}`, "team-b", 2) }),
    ],
    (who, n) => [
      "Delete",
      () =>
        clients
          .get(who)!
          .delete({ kind: Kind.VM_CLASS, namespace: "team-a", name: `c-${(n + 11) % 25}` }),
    ],
    (who) => ["List", () => clients.get(who)!.list({ kind: Kind.SECRET, namespace: "team-a" })],
    (who) => ["GetStatus", () => clients.get(who)!.getStatus({})],
    (who, n) => [
      "Apply",
      () => clients.get(who)!.apply({ resource: vmClass(`Bad_${n}`, "team-a", 1) }),
    ],
    (who) => ["ListEvents", () => clients.get(who)!.listEvents({ namespace: "team-a" })],
  ];
  // Before the mix: the setup's own applies are in the log too.
  const setupCalls = readAudit().length;
  expect(setupCalls).toBeGreaterThan(0);

  let next = 0;
  const total = 1000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < total; i = next++) {
        const who: Who = i % 50 === 49 ? "intruder" : (identities[i % 3] as Who);
        const [rpc, call] = (
          operations[Math.floor(i / 3) % operations.length] as (typeof operations)[0]
        )(who, i);
        let outcome = "ok";
        try {
          await call();
        } catch (err) {
          outcome = codeName(ProviderError.from(err).code);
        }
        tally(who, rpc, outcome);
      }
    }),
  );

  // What the clients saw, as the audit log should have it: mutating calls and refusals.
  const expected = new Map<string, number>();
  for (const [key, count] of seen) {
    const [, rpc, outcome] = key.split(" ");
    const audited =
      rpc === "Apply" ||
      rpc === "Delete" ||
      outcome === "permission_denied" ||
      outcome === "unauthenticated";
    if (audited) expected.set(key, count);
  }
  const entries = readAudit().slice(setupCalls);
  const logged = new Map<string, number>();
  for (const e of entries) {
    const who = e.identity.method === "token" ? e.identity.name : "intruder";
    const key = `${who} ${e.rpc} ${e.outcome}`;
    logged.set(key, (logged.get(key) ?? 0) + 1);
  }
  const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  expect(sorted(logged)).toEqual(sorted(expected));
  expect(entries).toHaveLength([...expected.values()].reduce((a, b) => a + b, 0));
  // Each kind of outcome happened: the mix is not all allowed or all refused.
  expect(expected.get("vic Apply permission_denied")).toBeGreaterThan(0);
  expect(expected.get("vic Get permission_denied")).toBeGreaterThan(0);
  expect(expected.get("eddie Apply ok")).toBeGreaterThan(0);
  expect(expected.get("eddie Apply permission_denied")).toBeGreaterThan(0);
  expect(
    [...expected.keys()].some((k) => k.startsWith("intruder") && k.endsWith("unauthenticated")),
  ).toBe(true);
  for (const e of entries) {
    expect(e.source).toBe("127.0.0.1");
    if (e.outcome === "ok" && e.rpc === "Apply") expect(e.resourceVersion).toMatch(/^\d+$/);
  }

  // A viewer gets no Secret's data: refused outright.
  await expect(
    clients.get("vic")!.get({ kind: Kind.SECRET, namespace: "team-a", name: "s-1" }),
  ).rejects.toThrow(/vic.*get.*secrets|permission/i);

  // The VM got the Secret's cloud-init, and is Ready.
  await eventually(
    async () => {
      const got = await root.get({ kind: Kind.VIRTUAL_MACHINE, name: "web-1" });
      const status = (
        fromResource(got.resource)?.message as {
          status?: { conditions: Array<{ type: string; status: ConditionStatus }> };
        }
      ).status;
      return status?.conditions.some(
        (c) => c.type === "Ready" && c.status === ConditionStatus.TRUE,
      );
    },
    30_000,
    "web-1 Ready",
  );
  await eventually(
    () => receiver.spans.some((s) => s.name.endsWith("/Create")),
    15_000,
    "the Create span",
  );

  // Nowhere the manager writes: statuses and events (read as the administrator),
  // its log, its traces, its audit log and its store files (the value and its base64).
  const statuses: string[] = [];
  for (const kind of [Kind.VIRTUAL_MACHINE, Kind.VM_CLASS, Kind.PROVIDER])
    for (const r of (await root.list({ kind, allNamespaces: true })).resources)
      statuses.push(
        JSON.stringify(
          (fromResource(r)?.message as { status?: unknown }).status ?? {},
          (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v),
        ),
      );
  const events = (await root.listEvents({ limit: 10000 })).events.map(
    (e) => `${e.reason} ${e.message}`,
  );
  const metrics = await (await fetch(`${manager.opsUrl}/metrics`)).text();
  await manager.stop();
  const storeFiles = readdirSync(join(dir, "data")).map((f) =>
    readFileSync(join(dir, "data", f)).toString("latin1"),
  );
  const places: Array<[string, string]> = [
    ["statuses", statuses.join("\n")],
    ["events", events.join("\n")],
    ["metrics", metrics],
    ["logs", JSON.stringify(manager.logs)],
    ["traces", JSON.stringify(receiver.spans)],
    [
      "audit log",
      readdirSync(auditDir)
        .map((f) => readFileSync(join(auditDir, f), "utf8"))
        .join("\n"),
    ],
    ["store files", storeFiles.join("\n")],
  ];
  const needles = [secretValue, Buffer.from(secretValue).toString("base64").slice(0, 24)];
  for (const [what, text] of places)
    expect(`${what}: ${needles.some((n) => text.includes(n)) ? "holds the secret" : "clean"}`).toBe(
      `${what}: clean`,
    );
  expect(events.length).toBeGreaterThan(0);
  expect(metrics).toContain("rpc_server_duration");
  expect(storeFiles.join("").length).toBeGreaterThan(0);
  for (const c of clients.values()) c.close();
});
