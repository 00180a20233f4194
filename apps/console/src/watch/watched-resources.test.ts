import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import {
  MigrationPhase,
  ResourceSchema,
  VMMigrationSchema,
  WatchEventType,
  WatchResponseSchema,
} from "@virtrigaud/proto/manager";
import { applyResourceEvent, resourceKey, resourcesOfList } from "./watched-resources";

const migration = (name: string, phase = MigrationPhase.PENDING) =>
  create(VMMigrationSchema, { metadata: { name, namespace: "default" }, status: { phase } });
const resource = (value: ReturnType<typeof migration>) =>
  create(ResourceSchema, { kind: { case: "vmMigration", value } });
const event = (type: WatchEventType, value?: ReturnType<typeof migration>) =>
  create(WatchResponseSchema, { type, ...(value ? { resource: resource(value) } : {}) });

describe("watched resources of one kind under watch events", () => {
  it("adds, replaces and deletes by namespace and name, and ignores bookmarks and other kinds", () => {
    const items = resourcesOfList("vmMigration", [
      resource(migration("m1")),
      create(ResourceSchema, { kind: { case: "vmClass", value: { metadata: { name: "small" } } } }),
    ]);
    expect([...items.keys()]).toEqual(["default/m1"]);
    expect(
      applyResourceEvent("vmMigration", items, event(WatchEventType.ADDED, migration("m2"))),
    ).toBe(true);
    expect(
      applyResourceEvent(
        "vmMigration",
        items,
        event(WatchEventType.MODIFIED, migration("m1", MigrationPhase.TRANSFERRING)),
      ),
    ).toBe(true);
    expect(items.get("default/m1")?.status?.phase).toBe(MigrationPhase.TRANSFERRING);
    expect(applyResourceEvent("vmMigration", items, event(WatchEventType.BOOKMARK))).toBe(false);
    const other = create(WatchResponseSchema, {
      type: WatchEventType.ADDED,
      resource: {
        kind: { case: "vmClass", value: { metadata: { name: "big", namespace: "default" } } },
      },
    });
    expect(applyResourceEvent("vmMigration", items, other)).toBe(false);
    expect(
      applyResourceEvent("vmMigration", items, event(WatchEventType.DELETED, migration("m2"))),
    ).toBe(true);
    expect(
      applyResourceEvent("vmMigration", items, event(WatchEventType.DELETED, migration("m2"))),
    ).toBe(false);
    expect([...items.values()].map(resourceKey)).toEqual(["default/m1"]);
  });
});
