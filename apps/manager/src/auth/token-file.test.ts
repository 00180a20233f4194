import { describe, expect, it } from "@jest/globals";
import { hashToken, parseTokenFile, tokenLine } from "./token-file.js";

describe("a token file", () => {
  it("maps each token's hash to its user and groups, skipping comments and blank lines", () => {
    const text = [
      "# team tokens",
      "",
      tokenLine("s3cret-a", "alice", ["dev", "ops"]),
      `  ${tokenLine("s3cret-b", "bob", [])}  `,
    ].join("\n");
    const table = parseTokenFile(text);
    expect(table.size).toBe(2);
    expect(table.get(hashToken("s3cret-a"))).toEqual({ name: "alice", groups: ["dev", "ops"] });
    expect(table.get(hashToken("s3cret-b"))).toEqual({ name: "bob", groups: [] });
    // Only the hash is kept: the token itself is nowhere in the file or the table.
    expect(text).not.toContain("s3cret-a");
    expect(table.get("s3cret-a")).toBeUndefined();
  });

  it("writes lines as sha256:HEX NAME GROUPS", () => {
    expect(tokenLine("t", "carol", ["a", "b"])).toBe(`sha256:${hashToken("t")} carol a,b`);
    expect(hashToken("t")).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ["plain-token alice", /line 1: must start with sha256:/],
    ["sha256:abc alice", /line 1: must start with sha256:/],
    [`sha256:${hashToken("x")}`, /line 1: a user name must follow/],
    [`sha256:${hashToken("x")} alice dev ops`, /line 1: groups are one field/],
    [`sha256:${hashToken("x")} a\nsha256:${hashToken("x")} b`, /line 2: the same token/],
  ])("refuses %j naming the line, never its content", (text, message) => {
    expect(() => parseTokenFile(text)).toThrow(message);
    try {
      parseTokenFile(text);
    } catch (err) {
      expect((err as Error).message).not.toContain(hashToken("x"));
    }
  });
});
