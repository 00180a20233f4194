import { describe, expect, it } from "@jest/globals";
import { importedVolumeName, transferFiles, transferKey } from "./transfer-names.js";

describe("transferKey", () => {
  it("keeps letters, digits, '_' and '-' and escapes every other byte", () => {
    expect(transferKey("mig-42_root")).toBe("mig-42_root");
    expect(transferKey("a/b'c$d<e>&;f")).toBe("a%2Fb%27c%24d%3Ce%3E%26%3Bf");
    // A leading dot, a dot-dot or a percent sign never survive as such.
    expect(transferKey("..")).toBe("%2E%2E");
    expect(transferKey("%2F")).toBe("%252F");
  });

  it("tells ids apart that differ only in escaped characters", () => {
    expect(transferKey("a/b")).not.toBe(transferKey("a%2Fb"));
  });

  it("cuts a long id short and ends it with a digest, the same each time", () => {
    const long = "x".repeat(200);
    const key = transferKey(long);
    expect(key.length).toBeLessThanOrEqual(96);
    expect(key).toMatch(/^x+~[0-9a-f]{16}$/);
    expect(transferKey(long)).toBe(key);
    expect(transferKey(`${long}y`)).not.toBe(key);
  });
});

it("names a transfer's files after its kind and key in the staging directory", () => {
  expect(transferFiles("/pool/.virtrigaud-transfers", "import", "a/b")).toEqual({
    data: "/pool/.virtrigaud-transfers/import-a%2Fb.data",
    partial: "/pool/.virtrigaud-transfers/import-a%2Fb.partial",
    record: "/pool/.virtrigaud-transfers/import-a%2Fb.json",
    recordNext: "/pool/.virtrigaud-transfers/import-a%2Fb.json.next",
  });
  expect(importedVolumeName("m 1", "raw")).toBe("imported-m%201.raw");
});
