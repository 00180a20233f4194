import { describe, expect, it } from "@jest/globals";
import { formatBytes } from "./bytes";

describe("byte counts for people", () => {
  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [1024, "1 KiB"],
    [1536, "1.5 KiB"],
    [16n * 1024n * 1024n, "16 MiB"],
    [150 * 1024 * 1024, "150 MiB"],
    [20n * 1024n ** 3n, "20 GiB"],
  ] as const)("%s is %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
