import { describe, expect, it } from "@jest/globals";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { TempDirs } from "./temp-dirs.js";

describe("TempDirs", () => {
  it("makes new directories under the OS's temporary directory, named with the prefix", () => {
    const dirs = new TempDirs("vrtg-tempdirs-");
    try {
      const [a, b] = [dirs.make(), dirs.make()];
      expect(a).not.toBe(b);
      for (const dir of [a, b]) {
        expect(dirname(dir)).toBe(tmpdir());
        expect(basename(dir).startsWith("vrtg-tempdirs-")).toBe(true);
        expect(existsSync(dir)).toBe(true);
      }
    } finally {
      dirs.removeAll();
    }
  });

  it("removes every directory it made with its contents, and skips one already gone", () => {
    const dirs = new TempDirs("vrtg-tempdirs-");
    const full = dirs.make();
    mkdirSync(join(full, "nested"));
    writeFileSync(join(full, "nested", "file"), "x");
    const gone = dirs.make();
    rmSync(gone, { recursive: true });
    dirs.removeAll();
    expect(existsSync(full)).toBe(false);
  });
});
