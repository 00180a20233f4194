import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  ApplyOutcome,
  EventType,
  Kind,
  VMClassSchema,
  type VMClass,
  WatchEventType,
} from "@virtrigaud/proto/manager";
import { type Change, StoreInUseError, openResourceStore, storeError } from "./resource-store.js";
import { parseLabelSelector } from "./label-selector.js";

const dirs: string[] = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "store-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
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

describe("ResourceStore", () => {
  it("creates with a uid, generation 1 and a growing resourceVersion; bumps the generation only on spec changes", () => {
    const store = openResourceStore(tempDir());
    const a = store.apply(Kind.VM_CLASS, vmClass("a", 1));
    expect(a.outcome).toBe(ApplyOutcome.CREATED);
    expect(a.message.metadata).toMatchObject({
      namespace: "default",
      generation: 1n,
      resourceVersion: "1",
    });
    expect(a.message.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(store.apply(Kind.VM_CLASS, vmClass("a", 1)).outcome).toBe(ApplyOutcome.UNCHANGED);
    const labelled = store.apply(Kind.VM_CLASS, vmClass("a", 1, { tier: "x" }));
    expect(labelled.message.metadata).toMatchObject({ generation: 1n, resourceVersion: "2" });
    const changed = store.apply(Kind.VM_CLASS, vmClass("a", 2, { tier: "x" }));
    expect(changed.outcome).toBe(ApplyOutcome.CONFIGURED);
    expect(changed.message.metadata).toMatchObject({
      generation: 2n,
      resourceVersion: "3",
      uid: a.message.metadata?.uid,
    });
    store.close();
  });

  it("refuses an apply with a stale resourceVersion, and changes nothing", () => {
    const store = openResourceStore(tempDir());
    store.apply(Kind.VM_CLASS, vmClass("a", 1));
    store.apply(Kind.VM_CLASS, vmClass("a", 2));
    expect(() => store.apply(Kind.VM_CLASS, vmClass("a", 3, {}, "1"))).toThrow(
      expect.objectContaining({ reason: ErrorReason.CONFLICT }),
    );
    expect((store.get(Kind.VM_CLASS, "default", "a") as VMClass).spec?.cpu).toBe(2);
    expect(store.apply(Kind.VM_CLASS, vmClass("a", 3, {}, "2")).outcome).toBe(
      ApplyOutcome.CONFIGURED,
    );
    store.close();
  });

  it("keeps a resource with finalizers until they are removed, and takes no new spec meanwhile", () => {
    const store = openResourceStore(tempDir());
    store.apply(Kind.VM_CLASS, vmClass("a", 1), { finalizers: ["test/f"] });
    const marked = store.requestDelete(Kind.VM_CLASS, "default", "a");
    expect(marked?.metadata?.deletionTimestamp).toBeDefined();
    const error = (() => {
      try {
        store.apply(Kind.VM_CLASS, vmClass("a", 5));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(ProviderError.is(error, ErrorReason.CONFLICT)).toBe(true);
    store.update(Kind.VM_CLASS, "default", "a", (copy) => {
      if (copy.metadata) copy.metadata.finalizers = [];
    });
    expect(store.get(Kind.VM_CLASS, "default", "a")).toBeUndefined();
    expect(() => store.requestDelete(Kind.VM_CLASS, "default", "a")).toThrow(/does not exist/);
    store.close();
  });

  it("survives a reopen: resources, versions and the change log", () => {
    const dir = tempDir();
    let store = openResourceStore(dir);
    store.apply(Kind.VM_CLASS, vmClass("a", 1));
    store.apply(Kind.VM_CLASS, vmClass("b", 1));
    store.requestDelete(Kind.VM_CLASS, "default", "a");
    store.close();
    store = openResourceStore(dir);
    expect(store.resourceVersion).toBe(3);
    expect(store.list(Kind.VM_CLASS).map((m) => m.metadata?.name)).toEqual(["b"]);
    const changes = store.changesSince(1) as Change[];
    expect(changes.map((c) => [c.type, c.message.metadata?.name])).toEqual([
      [WatchEventType.ADDED, "b"],
      [WatchEventType.DELETED, "a"],
    ]);
    expect(store.apply(Kind.VM_CLASS, vmClass("c", 1)).message.metadata?.resourceVersion).toBe("4");
    store.close();
  });

  it("is locked while open: a second open of its directory is refused until the first closes", () => {
    const dir = tempDir();
    const store = openResourceStore(dir);
    expect(() => openResourceStore(dir)).toThrow(StoreInUseError);
    store.apply(Kind.VM_CLASS, vmClass("a", 1));
    store.close();
    const again = openResourceStore(dir);
    expect(again.count(Kind.VM_CLASS)).toBe(1);
    again.close();
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

  it("reports changes too old to replay as expired", () => {
    const store = openResourceStore(tempDir(), { changesKept: 10 });
    for (let i = 0; i < 1005; i++) store.apply(Kind.VM_CLASS, vmClass("a", (i % 7) + 1));
    expect(store.changesSince(5)).toBe("expired");
    expect(store.changesSince(1000)).not.toBe("expired");
    store.close();
  });

  it("delivers changes to listeners in version order, also when a listener writes", () => {
    const store = openResourceStore(tempDir());
    const seen: number[] = [];
    store.subscribe((change) => {
      if (change.message.metadata?.name === "a" && change.type === WatchEventType.ADDED)
        store.apply(Kind.VM_CLASS, vmClass("b", 1));
    });
    store.subscribe((change) => seen.push(change.resourceVersion));
    store.apply(Kind.VM_CLASS, vmClass("a", 1));
    expect(seen).toEqual([1, 2]);
    store.close();
  });

  it("counts a repeated event instead of recording it again", () => {
    const store = openResourceStore(tempDir());
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
    store.recordEvent({ ...input, reason: "Y" });
    const events = store.listEvents({ name: "a" });
    expect(events.map((e) => [e.reason, e.count])).toEqual([
      ["X", 2],
      ["Y", 1],
    ]);
    expect(
      store
        .listEvents({ name: "a", afterSequence: Number(events[0]?.sequence) })
        .map((e) => e.reason),
    ).toEqual(["Y"]);
    store.close();
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
