import { describe, expect, it } from "@jest/globals";
import { linkedToValue, parseLinkedTo } from "./linked-clones.js";

describe("a linked clone's record of its base", () => {
  it("reads back the source VM id and the snapshot name, also one with a slash", () => {
    const sourceVmId = "7d1c6a8e-0000-4000-8000-000000000001";
    for (const snapshotName of ["clone-base-web", "nightly/2024-01-01"]) {
      expect(parseLinkedTo(linkedToValue(sourceVmId, snapshotName))).toEqual({
        sourceVmId,
        snapshotName,
      });
    }
  });
});
