import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { untilRevertForgotten } from "./until-revert-forgotten";

const vmWith = (revertedTo: string, resourceVersion: string) =>
  create(VirtualMachineSchema, {
    metadata: { name: "web-1", resourceVersion },
    status: { revertedTo },
  });

describe("waiting for the manager to forget a revert done", () => {
  it("returns the VM as it is once status.revertedTo is empty", async () => {
    const seen = [vmWith("before", "8"), vmWith("before", "9"), vmWith("", "10")];
    let reads = 0;
    const vm = await untilRevertForgotten(
      () => Promise.resolve(seen[reads++] ?? vmWith("", "11")),
      1000,
      1,
    );
    expect(reads).toBe(3);
    expect(vm.metadata?.resourceVersion).toBe("10");
  });

  it("gives up after its timeout, saying what is left", async () => {
    await expect(
      untilRevertForgotten(() => Promise.resolve(vmWith("before", "8")), 20, 5),
    ).rejects.toThrow("the manager has not cleared status.revertedTo (before) within 0.02 s");
  });
});
