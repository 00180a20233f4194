import { describe, expect, it } from "@jest/globals";
import { manifestPathOf, stepsOf } from "./field-path";

describe("field paths", () => {
  it("reads names, list indexes and quoted map keys", () => {
    expect(stepsOf("spec.disks[1].name")).toEqual(["spec", "disks", 1, "name"]);
    expect(stepsOf('metadata.labels["a.b/c"]')).toEqual(["metadata", "labels", "a.b/c"]);
  });

  it.each([
    // The manager's: proto names in the ApplyRequest, to the manifest's JSON names.
    ["resource.virtual_machine.spec.class_ref.name", ["spec", "classRef", "name"]],
    ["resource.virtual_machine.spec.disks[0].size_gib", ["spec", "disks", 0, "sizeGiB"]],
    [
      "resource.vm_migration.spec.target.preserve_mac_addresses",
      ["spec", "target", "preserveMACAddresses"],
    ],
    ['resource.virtual_machine.metadata.labels["app_tier"]', ["metadata", "labels", "app_tier"]],
    // Kubernetes' RBAC kinds write their spec at the top.
    ["resource.role_binding.spec.role_ref.name", ["roleRef", "name"]],
    // The manifest codec's own paths are kept.
    ["spec.powerState", ["spec", "powerState"]],
    ["spec.disks[0].sizeGiB", ["spec", "disks", 0, "sizeGiB"]],
  ] as const)("%s is at %j in the manifest", (field, steps) => {
    expect(manifestPathOf(field)).toEqual(steps);
  });
});
