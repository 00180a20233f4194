// Moving a store: copyStore between SQLite and PostgreSQL (real files, the
// real server), and `virtrigaud-manager copy-store` as a process.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { TempDirs } from "@virtrigaud/testbed";
import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorReason } from "@virtrigaud/contracts";
import { createServiceClient } from "@virtrigaud/contracts/client";
import {
  type Event,
  EventType,
  Kind,
  ManagerService,
  type VMClass,
  VMClassSchema,
  VMClassStatusSchema,
} from "@virtrigaud/proto/manager";
import { copyStore } from "../src/copy-store.js";
import { fromResource, kinds } from "../src/manifest/kinds.js";
import {
  type ResourceStore,
  StoreInUseError,
  openResourceStore,
  openStore,
} from "../src/store/resource-store.js";
import { redactUrl } from "../src/store/postgres/connection.js";
import { type TestDatabase, createTestDatabase } from "./postgres.js";
import { type ServerProcess, runManager, spawnManager } from "./processes.js";

const temp = new TempDirs("copy-store-");
const databases: TestDatabase[] = [];
const managers: ServerProcess[] = [];
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop("SIGKILL");
  temp.removeAll();
});
afterAll(async () => {
  for (const d of databases.splice(0)) await d.drop();
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

const openPostgres = (url: string) => openStore({ postgres: { url } });

function vmClass(name: string, namespace: string, cpu: number) {
  return create(VMClassSchema, {
    metadata: { name, namespace, labels: { tier: `t${cpu % 3}` } },
    spec: { cpu, memory: "1Gi" },
  });
}

/**
 * Fills a store with what a copy must keep: finalizers, a deletion mark,
 * statuses, a second generation, repeated events with distinct times, and
 * a last change that is a deletion (so its version is above every resource's).
 */
async function populate(store: ResourceStore): Promise<void> {
  const namespaceOf = (i: number) => (i % 2 ? "team-a" : "default");
  for (let i = 0; i < 40; i++)
    await store.apply(
      Kind.VM_CLASS,
      vmClass(`class-${i}`, namespaceOf(i), i + 1),
      i % 5 === 0 ? { finalizers: ["example.com/keep"] } : {},
    );
  for (let i = 0; i < 10; i++)
    await store.update<VMClass>(Kind.VM_CLASS, namespaceOf(i), `class-${i}`, (copy) => {
      copy.status = create(VMClassStatusSchema, {
        observedGeneration: 1n,
        supportedProviders: ["mock", `p${i}`],
      });
    });
  await store.apply(Kind.VM_CLASS, vmClass("class-2", "default", 64));
  await store.requestDelete(Kind.VM_CLASS, "default", "class-0");
  for (let i = 0; i < 12; i++) {
    const about = { kind: Kind.VM_CLASS, namespace: namespaceOf(i), name: `class-${i}` };
    store.recordEvent({ ...about, type: EventType.NORMAL, reason: "Validated", message: `${i}` });
    if (i < 3)
      store.recordEvent({ ...about, type: EventType.NORMAL, reason: "Validated", message: `${i}` });
    if (i % 4 === 0)
      store.recordEvent({ ...about, type: EventType.WARNING, reason: "Slow", message: "late" });
  }
  await store.flush();
  await store.requestDelete(Kind.VM_CLASS, "team-a", "class-39");
}

async function populated(): Promise<string> {
  const dir = temp.make();
  let clock = Date.UTC(2026, 0, 1);
  const store = await openResourceStore(dir, { now: () => (clock += 1000) });
  await populate(store);
  await store.close();
  return dir;
}

/** What a store holds, resources as their encoded bytes. */
interface Contents {
  resources: Map<string, string>;
  resourceVersion: number;
  events: Event[];
}

async function contentsOf(open: () => Promise<ResourceStore>): Promise<Contents> {
  const store = await open();
  try {
    const resources = new Map<string, string>();
    for (const k of kinds)
      for (const m of store.list(k.kind))
        resources.set(
          `${k.name}/${m.metadata?.namespace}/${m.metadata?.name}`,
          Buffer.from(toBinary(k.schema, m)).toString("base64"),
        );
    const events = await store.listEvents({ limit: 100_000 });
    return { resources, resourceVersion: store.resourceVersion, events };
  } finally {
    await store.close();
  }
}

/** Checks a copy's first write lands just above the copied version, and older watches list again. */
async function continuesAbove(open: () => Promise<ResourceStore>, version: number): Promise<void> {
  const store = await open();
  try {
    expect(await store.changesSince(version)).toEqual([]);
    expect(await store.changesSince(version - 1)).toBe("expired");
    const created = await store.apply(Kind.VM_CLASS, vmClass("after-copy", "default", 1));
    expect(created.message.metadata?.resourceVersion).toBe(String(version + 1));
  } finally {
    await store.close();
  }
}

describe("copyStore", () => {
  it("keeps every resource byte for byte, the resourceVersion and every event, SQLite to PostgreSQL and back", async () => {
    const source = await populated();
    const before = await contentsOf(() => openResourceStore(source));
    expect(before.resources.size).toBe(39);
    expect(before.events.map((e) => e.count)).toContain(2);
    expect(before.resourceVersion).toBeGreaterThan(Math.max(...(await versionsIn(source))));

    const db = await database();
    const there = await copyStore({ from: { store: source }, to: { store: db.url } });
    expect(there).toMatchObject({
      resources: 39,
      events: before.events.length,
      resourceVersion: before.resourceVersion,
    });
    expect(await contentsOf(() => openPostgres(db.url))).toEqual(before);

    const back = join(temp.make(), "back");
    const returned = await copyStore({ from: { store: db.url }, to: { store: back } });
    expect(returned).toMatchObject({ resources: 39, events: before.events.length });
    expect(await contentsOf(() => openResourceStore(back))).toEqual(before);

    await continuesAbove(() => openPostgres(db.url), before.resourceVersion);
    await continuesAbove(() => openResourceStore(back), before.resourceVersion);
  }, 60_000);

  it("refuses a target that is not empty, and changes nothing in it", async () => {
    const source = await populated();
    const used = temp.make();
    const usedStore = await openResourceStore(used);
    await usedStore.apply(Kind.VM_CLASS, vmClass("mine", "default", 2));
    await usedStore.close();
    const usedBefore = await contentsOf(() => openResourceStore(used));
    await expect(copyStore({ from: { store: source }, to: { store: used } })).rejects.toMatchObject(
      { reason: ErrorReason.CONFLICT },
    );
    expect(await contentsOf(() => openResourceStore(used))).toEqual(usedBefore);

    const db = await database();
    const pgStore = await openPostgres(db.url);
    pgStore.recordEvent({
      kind: Kind.VM_CLASS,
      namespace: "default",
      name: "x",
      type: EventType.NORMAL,
      reason: "Seen",
      message: "an event alone makes a store not empty",
    });
    await pgStore.close();
    const pgBefore = await contentsOf(() => openPostgres(db.url));
    expect(pgBefore.events).toHaveLength(1);
    await expect(
      copyStore({ from: { store: source }, to: { store: db.url } }),
    ).rejects.toMatchObject({ reason: ErrorReason.CONFLICT });
    expect(await contentsOf(() => openPostgres(db.url))).toEqual(pgBefore);
  }, 60_000);

  it("refuses a SQLite source a manager has open", async () => {
    const source = await populated();
    const running = await openResourceStore(source);
    try {
      const target = join(temp.make(), "never");
      await expect(
        copyStore({ from: { store: source }, to: { store: target } }),
      ).rejects.toBeInstanceOf(StoreInUseError);
    } finally {
      await running.close();
    }
  }, 30_000);
});

/** The resourceVersion of every resource in a SQLite store. */
async function versionsIn(dir: string): Promise<number[]> {
  const store = await openResourceStore(dir);
  try {
    return kinds.flatMap((k) => store.list(k.kind).map((m) => Number(m.metadata?.resourceVersion)));
  } finally {
    await store.close();
  }
}

describe("virtrigaud-manager copy-store", () => {
  it("copies as a process, prints what it copied without the password, and a manager on the copy serves it", async () => {
    const source = await populated();
    const before = await contentsOf(() => openResourceStore(source));
    const db = await database();
    // The test server trusts every login: the password is only there to be kept out of the output.
    const url = new URL(db.url);
    url.password = "s3cret-word";
    const passwordFile = join(temp.make(), "password");
    writeFileSync(passwordFile, "s3cret-word\n");

    const toPostgres = await runManager([
      "copy-store",
      "--from",
      source,
      "--to",
      url.toString(),
      "--to-password-file",
      passwordFile,
    ]);
    expect(toPostgres.stderr).toBe("");
    expect(toPostgres.code).toBe(0);
    expect(toPostgres.stdout).toMatch(
      new RegExp(
        `^copied 39 resources and ${before.events.length} events at resourceVersion ${before.resourceVersion} from ${source} to .* in \\d+\\.\\d s\\n$`,
      ),
    );
    expect(toPostgres.stdout).toContain(redactUrl(url.toString()));
    expect(toPostgres.stdout).not.toContain("s3cret-word");

    const again = await runManager(["copy-store", "--from", source, "--to", url.toString()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty: copy into a new store/);
    expect(again.stderr).not.toContain("s3cret-word");

    const copy = join(temp.make(), "copy");
    const back = await runManager(["copy-store", "--from", db.url, "--to", copy]);
    expect(back.code).toBe(0);
    expect(back.stderr).toMatch(/stop every manager using it first/);
    expect(back.stdout).toMatch(/^copied 39 resources and \d+ events/);

    const usage = await runManager(["copy-store", "--from", copy]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--from and --to are required/);

    const manager = await spawnManager(copy);
    managers.push(manager);
    const client = createServiceClient(ManagerService, manager.url);
    try {
      const listed = await client.list({ kind: Kind.VM_CLASS, allNamespaces: true });
      const served = new Map(
        listed.resources.map((r) => {
          const m = fromResource(r)?.message as VMClass | undefined;
          return [`${m?.metadata?.namespace}/${m?.metadata?.name}`, m] as const;
        }),
      );
      expect(served.size).toBe(39);
      const original = await openResourceStore(source);
      try {
        for (const m of original.list(Kind.VM_CLASS)) {
          const s = served.get(`${m.metadata?.namespace}/${m.metadata?.name}`);
          // The manager's controllers may have written statuses since it started: compare the rest.
          expect(s?.metadata?.uid).toBe(m.metadata?.uid);
          expect(s?.metadata?.generation).toBe(m.metadata?.generation);
          expect(s?.metadata?.creationTimestamp).toEqual(m.metadata?.creationTimestamp);
          expect(s?.metadata?.deletionTimestamp).toEqual(m.metadata?.deletionTimestamp);
          expect(s?.metadata?.finalizers).toEqual(m.metadata?.finalizers);
          expect(s?.spec).toEqual((m as VMClass).spec);
        }
      } finally {
        await original.close();
      }
      expect(Number(listed.resourceVersion)).toBeGreaterThanOrEqual(before.resourceVersion);
    } finally {
      client.close();
    }
  }, 90_000);
});
