import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { Kind, VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { deleteVmRequest } from "./delete-vm";

describe("deleting a VM from its page", () => {
  it("deletes that VM at the resourceVersion shown", () => {
    const vm = create(VirtualMachineSchema, {
      metadata: { name: "web-1", namespace: "team-a", resourceVersion: "12" },
    });
    expect(deleteVmRequest(vm)).toEqual({
      kind: Kind.VIRTUAL_MACHINE,
      namespace: "team-a",
      name: "web-1",
      resourceVersion: "12",
    });
  });
});
