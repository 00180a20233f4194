import { describe, expect, it } from "@jest/globals";
import { importIdOfFile, importedDiskPath } from "./adopted-disks.js";
import { idFileName } from "./disk-staging.js";

describe("imported disk paths", () => {
  it("name the import back from the disk's file, whatever its id holds", () => {
    for (const id of ["mig-1", "a/b c?#&%[x]", "..", "ünï"]) {
      const path = importedDiskPath({
        importId: id,
        sizeBytes: 512,
        sha256: "",
        datacenterPath: "DC0",
        datastore: "ds 1",
        directory: `virtrigaud-imports/${idFileName(id)}`,
        received: 0,
        dirtyEnd: 0,
        committed: true,
      });
      expect(path).toMatch(/^\[ds 1\] virtrigaud-imports\/[A-Za-z0-9_%-]+\/disk\.vmdk$/);
      expect(importIdOfFile(path)).toBe(id);
    }
  });

  it("know other disks are not imports", () => {
    expect(importIdOfFile("[ds] web/web.vmdk")).toBeUndefined();
    expect(importIdOfFile("[ds] virtrigaud-imports/x/other.vmdk")).toBeUndefined();
    expect(importIdOfFile("")).toBeUndefined();
  });
});
