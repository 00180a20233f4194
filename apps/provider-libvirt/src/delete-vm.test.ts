import { expect, it } from "@jest/globals";
import { filesOfVm } from "./delete-vm.js";

it("removes only the VM's own files directly in the pool, each once", () => {
  expect(
    filesOfVm(
      "/pool",
      "web",
      ["/pool/web-root.qcow2", "/pool/web-seed.iso", "/elsewhere/web-data.qcow2"],
      [["/pool/web-base-1.qcow2", "/pool/debian-12.qcow2"], ["/pool/web-base-1.qcow2"]],
    ),
  ).toEqual(["/pool/web-root.qcow2", "/pool/web-seed.iso", "/pool/web-base-1.qcow2"]);
  // A file in a folder below the pool is not one of the VM's.
  expect(filesOfVm("/pool", "web", ["/pool/web-x/y.qcow2"], [])).toEqual([]);
});
