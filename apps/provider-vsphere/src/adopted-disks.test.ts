import { describe, expect, it } from "@jest/globals";
import type { ProviderRequest } from "@virtrigaud/contracts";
import { adoptedGrowth, importIdOfFile, importedDiskPath } from "./adopted-disks.js";
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

describe("adoptedGrowth", () => {
  const adopted = (capacityKB: number) => ({ importId: "i", fileName: "[ds] x", capacityKB });
  it("grows an imported disk only to a larger size asked of it", () => {
    const growth = adoptedGrowth(
      {
        rootDiskSizeGib: 2,
        disks: [
          { name: "data", sizeGib: 3 },
          { name: "new", sizeGib: 9 },
          { name: "small", sizeGib: 1 },
        ] as ProviderRequest<"create">["disks"],
      },
      { root: adopted(1024 * 1024), disks: [adopted(1024), undefined, adopted(2 * 1024 * 1024)] },
    );
    expect([...growth]).toEqual([
      ["root", 2],
      ["data", 3],
    ]);
  });
});
