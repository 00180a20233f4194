import { describe, expect, it } from "@jest/globals";
import { removalCommands } from "./remove-libvirt-objects.js";

describe("removalCommands", () => {
  it("removes every domain with its storage and snapshots before stopping any pool", () => {
    expect(removalCommands({ domains: ["a", "b"], pools: ["p"] })).toEqual([
      ["destroy", "a"],
      ["undefine", "a", "--remove-all-storage", "--snapshots-metadata"],
      ["destroy", "b"],
      ["undefine", "b", "--remove-all-storage", "--snapshots-metadata"],
      ["pool-destroy", "p"],
      ["pool-undefine", "p"],
    ]);
  });

  it("passes a name as one argument, whatever it holds", () => {
    expect(removalCommands({ domains: ["x; rm -rf /"] })[0]).toEqual(["destroy", "x; rm -rf /"]);
  });

  it("has nothing to do for nothing", () => {
    expect(removalCommands({})).toEqual([]);
  });
});
