import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import {
  ResourceSchema,
  VirtualMachineSchema,
  WatchEventType,
  WatchResponseSchema,
} from "@virtrigaud/proto/manager";
import { applyWatchEvent, vmKey, vmsOfList } from "./watched-vms";

const vm = (name: string, phase = 0) =>
  create(VirtualMachineSchema, {
    metadata: { name, namespace: "default" },
    status: { phase },
  });
const resource = (value: ReturnType<typeof vm>) =>
  create(ResourceSchema, { kind: { case: "virtualMachine", value } });
const event = (type: WatchEventType, value?: ReturnType<typeof vm>) =>
  create(WatchResponseSchema, { type, ...(value ? { resource: resource(value) } : {}) });

describe("the fleet's VMs under watch events", () => {
  it("adds, replaces and deletes VMs by namespace and name, and ignores bookmarks and other kinds", () => {
    const vms = vmsOfList([
      resource(vm("web-1")),
      create(ResourceSchema, { kind: { case: "vmClass", value: { metadata: { name: "small" } } } }),
    ]);
    expect([...vms.keys()]).toEqual(["default/web-1"]);
    expect(applyWatchEvent(vms, event(WatchEventType.ADDED, vm("web-2")))).toBe(true);
    expect(applyWatchEvent(vms, event(WatchEventType.MODIFIED, vm("web-1", 4)))).toBe(true);
    expect(vms.get("default/web-1")?.status?.phase).toBe(4);
    expect(applyWatchEvent(vms, event(WatchEventType.BOOKMARK))).toBe(false);
    expect(applyWatchEvent(vms, event(WatchEventType.DELETED, vm("web-2")))).toBe(true);
    expect(applyWatchEvent(vms, event(WatchEventType.DELETED, vm("web-2")))).toBe(false);
    expect([...vms.values()].map(vmKey)).toEqual(["default/web-1"]);
  });
});
