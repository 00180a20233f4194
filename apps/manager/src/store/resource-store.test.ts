import { afterAll, afterEach, describe, expect, it } from "@jest/globals";
import { TempDirs } from "@virtrigaud/testbed";
import { clone, create } from "@bufbuild/protobuf";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  ApplyOutcome,
  EventType,
  Kind,
  VMClassSchema,
  VMClassStatusSchema,
  type VMClass,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import pg from "pg";
import { createTestDatabase } from "../../test/postgres.js";
import {
  type Change,
  type Fence,
  type ResourceStore,
  type StoreOptions,
  StoreInUseError,
  openResourceStore,
  openStore,
  storeError,
} from "./resource-store.js";
import { parseLabelSelector } from "./label-selector.js";

const temp = new TempDirs("store-");
const databases: Array<{ drop(): Promise<void> }> = [];
afterEach(() => temp.removeAll());
afterAll(async () => {
  for (const d of databases.splice(0)) await d.drop();
});

function vmClass(
  name: string,
  cpu: number,
  labels: Record<string, string> = {},
  resourceVersion = "",
) {
  return create(VMClassSchema, {
    metadata: { name, labels, resourceVersion },
    spec: { cpu, memory: "1Gi" },
  });
}

/** A place for a store: open it (again) with `open`. */
interface Place {
  open(options?: StoreOptions): Promise<ResourceStore>;
}

/** One suite, two databases: every behaviour of the store holds on both. */
const backends: Array<[string, () => Promise<Place>]> = [
  [
    "SQLite",
    () => {
      const dir = temp.make();
      return Promise.resolve({ open: (options) => openResourceStore(dir, options) });
    },
  ],
  [
    "PostgreSQL",
    async () => {
      const db = await createTestDatabase();
      databases.push(db);
      return { open: (options) => openStore({ postgres: { url: db.url } }, options) };
    },
  ],
];

describe.each(backends)("ResourceStore on %s", (_backend, makePlace) => {
  it("creates with a uid, generation 1 and a growing resourceVersion; bumps the generation only on spec changes", async () => {
    const store = await (await makePlace()).open();
    const a = await store.apply(Kind.VM_CLASS, vmClass("a", 1));
    expect(a.outcome).toBe(ApplyOutcome.CREATED);
    expect(a.message.metadata).toMatchObject({
      namespace: "default",
      generation: 1n,
      resourceVersion: "1",
    });
    expect(a.message.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await store.apply(Kind.VM_CLASS, vmClass("a", 1))).outcome).toBe(
      ApplyOutcome.UNCHANGED,
    );
    const labelled = await store.apply(Kind.VM_CLASS, vmClass("a", 1, { tier: "x" }));
    expect(labelled.message.metadata).toMatchObject({ generation: 1n, resourceVersion: "2" });
    const changed = await store.apply(Kind.VM_CLASS, vmClass("a", 2, { tier: "x" }));
    expect(changed.outcome).toBe(ApplyOutcome.CONFIGURED);
    expect(changed.message.metadata).toMatchObject({
      generation: 2n,
      resourceVersion: "3",
      uid: a.message.metadata?.uid,
    });
    await store.close();
  });

  it("refuses an apply with a stale resourceVersion, and changes nothing", async () => {
    const store = await (await makePlace()).open();
    await store.apply(Kind.VM_CLASS, vmClass("a", 1));
    await store.apply(Kind.VM_CLASS, vmClass("a", 2));
    await expect(store.apply(Kind.VM_CLASS, vmClass("a", 3, {}, "1"))).rejects.toMatchObject({
      reason: ErrorReason.CONFLICT,
    });
    expect((store.get(Kind.VM_CLASS, "default", "a") as VMClass).spec?.cpu).toBe(2);
    expect((await store.apply(Kind.VM_CLASS, vmClass("a", 3, {}, "2"))).outcome).toBe(
      ApplyOutcome.CONFIGURED,
    );
    await store.close();
  });

  it("keeps a resource with finalizers until they are removed, and takes no new spec meanwhile", async () => {
    const store = await (await makePlace()).open();
    await store.apply(Kind.VM_CLASS, vmClass("a", 1), { finalizers: ["test/f"] });
    const marked = await store.requestDelete(Kind.VM_CLASS, "default", "a");
    expect(marked?.metadata?.deletionTimestamp).toBeDefined();
    const error = await store.apply(Kind.VM_CLASS, vmClass("a", 5)).catch((err: unknown) => err);
    expect(ProviderError.is(error, ErrorReason.CONFLICT)).toBe(true);
    await store.update(Kind.VM_CLASS, "default", "a", (copy) => {
      if (copy.metadata) copy.metadata.finalizers = [];
    });
    expect(store.get(Kind.VM_CLASS, "default", "a")).toBeUndefined();
    await expect(store.requestDelete(Kind.VM_CLASS, "default", "a")).rejects.toThrow(
      /does not exist/,
    );
    await store.close();
  });

  it("survives a reopen: resources, versions and the change log", async () => {
    const place = await makePlace();
    let store = await place.open();
    await store.apply(Kind.VM_CLASS, vmClass("a", 1));
    await store.apply(Kind.VM_CLASS, vmClass("b", 1));
    await store.requestDelete(Kind.VM_CLASS, "default", "a");
    await store.close();
    store = await place.open();
    expect(store.resourceVersion).toBe(3);
    expect(store.list(Kind.VM_CLASS).map((m) => m.metadata?.name)).toEqual(["b"]);
    const changes = (await store.changesSince(1)) as Change[];
    expect(changes.map((c) => [c.type, c.message.metadata?.name])).toEqual([
      [WatchEventType.ADDED, "b"],
      [WatchEventType.DELETED, "a"],
    ]);
    expect(
      (await store.apply(Kind.VM_CLASS, vmClass("c", 1))).message.metadata?.resourceVersion,
    ).toBe("4");
    await store.close();
  });

  it("reports changes too old to replay as expired", async () => {
    const store = await (await makePlace()).open({ changesKept: 10 });
    for (let i = 0; i < 1005; i++) await store.apply(Kind.VM_CLASS, vmClass("a", (i % 7) + 1));
    await store.flush();
    expect(await store.changesSince(5)).toBe("expired");
    expect(await store.changesSince(1000)).not.toBe("expired");
    await store.close();
  });

  it("delivers changes to listeners in version order, also when a listener writes", async () => {
    const store = await (await makePlace()).open();
    const seen: number[] = [];
    const nested: Array<Promise<unknown>> = [];
    store.subscribe((change) => {
      if (change.message.metadata?.name === "a" && change.type === WatchEventType.ADDED)
        nested.push(store.apply(Kind.VM_CLASS, vmClass("b", 1)));
    });
    store.subscribe((change) => seen.push(change.resourceVersion));
    await store.apply(Kind.VM_CLASS, vmClass("a", 1));
    await Promise.all(nested);
    expect(seen).toEqual([1, 2]);
    await store.close();
  });

  it("commits writes made at once in one go, each deciding on the ones before it", async () => {
    const store = await (await makePlace()).open();
    const results = await Promise.allSettled([
      store.apply(Kind.VM_CLASS, vmClass("a", 1)),
      store.apply(Kind.VM_CLASS, vmClass("a", 2, {}, "1")),
      store.apply(Kind.VM_CLASS, vmClass("a", 3, {}, "1")),
      store.update<VMClass>(Kind.VM_CLASS, "default", "a", (copy) => {
        if (copy.spec) copy.spec.cpu = 4;
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect((store.get(Kind.VM_CLASS, "default", "a") as VMClass).spec?.cpu).toBe(4);
    expect(store.resourceVersion).toBe(3);
    await store.close();
  });

  it("counts a repeated event instead of recording it again", async () => {
    const store = await (await makePlace()).open();
    const input = {
      kind: Kind.VM_CLASS,
      namespace: "default",
      name: "a",
      type: EventType.WARNING,
      reason: "X",
      message: "m",
    };
    store.recordEvent(input);
    store.recordEvent(input);
    await store.flush();
    store.recordEvent(input);
    store.recordEvent({ ...input, reason: "Y" });
    await store.flush();
    const events = await store.listEvents({ name: "a" });
    expect(events.map((e) => [e.reason, e.count])).toEqual([
      ["X", 3],
      ["Y", 1],
    ]);
    expect(
      (await store.listEvents({ name: "a", afterSequence: Number(events[0]?.sequence) })).map(
        (e) => e.reason,
      ),
    ).toEqual(["Y"]);
    await store.close();
  });

  it("replaces a status: a new version sharing the spec, nothing written when it is the same, refused once the fence fails", async () => {
    const place = await makePlace();
    let store = await place.open();
    let holds = true;
    const fence: Fence = { lease: { name: "test", holder: "me", term: 1n }, holds: () => holds };
    if (_backend === "PostgreSQL") await grantLease(store, fence);
    const applied = (await store.apply(Kind.VM_CLASS, vmClass("a", 1))).message as VMClass;
    const seen: Change[] = [];
    store.subscribe((c) => seen.push(c));
    const status = create(VMClassStatusSchema, {
      usedByVms: 3,
      supportedProviders: ["mock"],
      validationResults: { mock: { valid: true, warnings: ["w"] } },
    });
    const written = await store.updateStatus<VMClass>(Kind.VM_CLASS, "default", "a", status, {
      fence,
    });
    expect(written?.metadata?.resourceVersion).toBe("2");
    expect(written?.status).toBe(status);
    expect(written?.spec).toBe(applied.spec);
    expect(applied.status).toBeUndefined(); // the stored version before it is untouched
    expect(seen.map((c) => [c.type, c.resourceVersion])).toEqual([[WatchEventType.MODIFIED, 2]]);
    const again = await store.updateStatus<VMClass>(
      Kind.VM_CLASS,
      "default",
      "a",
      clone(VMClassStatusSchema, status),
    );
    expect(again).toBe(written);
    expect(store.resourceVersion).toBe(2);
    expect(
      await store.updateStatus<VMClass>(Kind.VM_CLASS, "default", "b", status),
    ).toBeUndefined();
    holds = false;
    await expect(
      store.updateStatus<VMClass>(
        Kind.VM_CLASS,
        "default",
        "a",
        create(VMClassStatusSchema, { usedByVms: 4 }),
        { fence },
      ),
    ).rejects.toMatchObject({ reason: ErrorReason.UNAVAILABLE });
    await store.close();
    store = await place.open();
    const reread = store.get(Kind.VM_CLASS, "default", "a") as VMClass;
    expect(reread.status?.usedByVms).toBe(3);
    expect(reread.status?.validationResults["mock"]?.warnings).toEqual(["w"]);
    expect(reread.spec?.cpu).toBe(1);
    await store.close();
  });

  it("refuses a write whose fence no longer holds, and stores nothing of it", async () => {
    const store = await (await makePlace()).open();
    let holds = true;
    const fence: Fence = { lease: { name: "test", holder: "me", term: 1n }, holds: () => holds };
    if (_backend === "PostgreSQL") await grantLease(store, fence);
    await store.apply(Kind.VM_CLASS, vmClass("a", 1), { fence });
    holds = false;
    await expect(
      store.update<VMClass>(
        Kind.VM_CLASS,
        "default",
        "a",
        (c) => {
          if (c.spec) c.spec.cpu = 9;
        },
        { fence },
      ),
    ).rejects.toMatchObject({ reason: ErrorReason.UNAVAILABLE });
    store.recordEvent(
      {
        kind: Kind.VM_CLASS,
        namespace: "default",
        name: "a",
        type: EventType.NORMAL,
        reason: "R",
        message: "m",
      },
      { fence },
    );
    await store.flush();
    expect((store.get(Kind.VM_CLASS, "default", "a") as VMClass).spec?.cpu).toBe(1);
    expect(await store.listEvents({ name: "a" })).toEqual([]);
    await store.close();
  });
});

/** Writes the lease row a fence names, as the leader lease would, valid for a minute. */
async function grantLease(store: ResourceStore, fence: Fence): Promise<void> {
  const client = new pg.Client({ connectionString: urlOf(store) });
  await client.connect();
  await client.query(
    `INSERT INTO leader_lease (name, holder, term, acquired_at, renewed_at, expires_at)
     VALUES ($1, $2, $3, now(), now(), now() + interval '1 minute')`,
    [fence.lease.name, fence.lease.holder, String(fence.lease.term)],
  );
  await client.end();
}

/** The store's URL: the test databases have no password, so the redacted one is the real one. */
function urlOf(store: ResourceStore): string {
  return store.location;
}

describe("ResourceStore on PostgreSQL, several managers", () => {
  it("serves one truth: a write through one is seen by the other, in order, and resourceVersions conflict across them", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const open = () => openStore({ postgres: { url: db.url } });
    const [a, b] = await Promise.all([open(), open()]);
    const seenByB: Array<[number, string | undefined]> = [];
    b.subscribe((c) => seenByB.push([c.resourceVersion, c.message.metadata?.name]));
    await a.apply(Kind.VM_CLASS, vmClass("x", 1));
    await b.apply(Kind.VM_CLASS, vmClass("y", 1));
    await a.apply(Kind.VM_CLASS, vmClass("x", 2));
    await waitFor(() => seenByB.length === 3);
    expect(seenByB).toEqual([
      [1, "x"],
      [2, "y"],
      [3, "x"],
    ]);
    // B's copy of x is current only once it read it: a stale version is refused whichever way.
    await expect(b.apply(Kind.VM_CLASS, vmClass("x", 5, {}, "1"))).rejects.toMatchObject({
      reason: ErrorReason.CONFLICT,
    });
    expect((await b.apply(Kind.VM_CLASS, vmClass("x", 5, {}, "3"))).outcome).toBe(
      ApplyOutcome.CONFIGURED,
    );
    await waitFor(() => a.resourceVersion === 4);
    expect((a.get(Kind.VM_CLASS, "default", "x") as VMClass).spec?.cpu).toBe(5);
    // A watch resuming on A from before B's writes replays them.
    const since = (await a.changesSince(1)) as Change[];
    expect(since.map((c) => [c.resourceVersion, c.message.metadata?.name])).toEqual([
      [2, "y"],
      [4, "x"],
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it("migrates once when managers start together, and refuses a database newer than it knows", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const stores = await Promise.all([1, 2, 3].map(() => openStore({ postgres: { url: db.url } })));
    await Promise.all(stores.map((s) => s.close()));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const versions = await client.query("SELECT version FROM schema_migrations ORDER BY version");
    expect(versions.rows).toEqual([{ version: 1 }]);
    await client.query("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
    await client.end();
    await expect(openStore({ postgres: { url: db.url } })).rejects.toThrow(/version 999/);
  });

  it("refuses a fenced write once another term holds the lease, though the writer's own clock says it leads", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const store = await openStore({ postgres: { url: db.url } });
    const fence: Fence = { lease: { name: "test", holder: "old", term: 1n }, holds: () => true };
    await grantLease(store, fence);
    await store.apply(Kind.VM_CLASS, vmClass("a", 1), { fence });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("UPDATE leader_lease SET holder = 'new', term = 2 WHERE name = 'test'");
    await client.end();
    await expect(store.apply(Kind.VM_CLASS, vmClass("a", 2), { fence })).rejects.toMatchObject({
      reason: ErrorReason.UNAVAILABLE,
    });
    // The API's writes are not fenced: they go on whoever leads.
    expect((await store.apply(Kind.VM_CLASS, vmClass("a", 3))).outcome).toBe(
      ApplyOutcome.CONFIGURED,
    );
    await store.close();
  });

  it("never names the password of its URL", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const withPassword = db.url.replace("postgres://postgres@", "postgres://postgres:s3cret-pw@");
    const store = await openStore({ postgres: { url: withPassword } });
    expect(store.location).not.toContain("s3cret-pw");
    await store.close();
    const unreachable = withPassword.replace(/:(\d+)\//, ":1/");
    const error = await openStore({ postgres: { url: unreachable } }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAVAILABLE)).toBe(true);
    expect(String((error as Error).message)).not.toContain("s3cret-pw");
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("ResourceStore on SQLite", () => {
  it("is locked while open: a second open of its directory is refused until the first closes", async () => {
    const dir = temp.make();
    const store = await openResourceStore(dir);
    expect(() => openResourceStore(dir)).toThrow(StoreInUseError);
    await store.apply(Kind.VM_CLASS, vmClass("a", 1));
    await store.close();
    const again = await openResourceStore(dir);
    expect(again.count(Kind.VM_CLASS)).toBe(1);
    await again.close();
  });

  it("types the failures of its disk, naming the store", () => {
    const sqlite = (code: string) => Object.assign(new Error(code), { code });
    expect(storeError(sqlite("SQLITE_FULL"), "/d")).toMatchObject({
      reason: ErrorReason.RESOURCE_EXHAUSTED,
      rawMessage: "the manager's store at /d is full: free space on its disk; nothing was stored",
    });
    expect(storeError(sqlite("SQLITE_READONLY"), "/d")).toMatchObject({
      reason: ErrorReason.UNAVAILABLE,
      rawMessage: "the manager's store at /d is read-only; nothing was stored",
    });
    expect(storeError(sqlite("SQLITE_IOERR_WRITE"), "/d")).toMatchObject({
      reason: ErrorReason.UNAVAILABLE,
    });
    const other = sqlite("SQLITE_CONSTRAINT");
    expect(storeError(other, "/d")).toBe(other);
  });
});

describe("label selectors", () => {
  it.each([
    ["", {}, true],
    ["app=web", { app: "web" }, true],
    ["app==web", { app: "db" }, false],
    ["app!=web", {}, true],
    ["env in (a, b),gpu", { env: "b", gpu: "" }, true],
    ["env notin (a)", { env: "a" }, false],
    ["!legacy", { legacy: "1" }, false],
    ["tier", {}, false],
  ])("%j matches %j: %s", (selector, labels, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it("names the selector when it does not parse", () => {
    expect(() => parseLabelSelector("app=(x")).toThrow(
      expect.objectContaining({ field: "label_selector" }),
    );
  });
});
