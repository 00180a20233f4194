import { describe, expect, it } from "@jest/globals";
import { clip, quote } from "./clip.js";

describe("clip", () => {
  it("leaves text within the limit alone", () => {
    expect(clip("abc", 3)).toBe("abc");
  });

  it("says how many characters it left out", () => {
    expect(clip("x".repeat(10), 4)).toBe("xxxx… (6 more characters)");
  });

  it("never ends on half a surrogate pair", () => {
    expect(clip("a😀b", 2)).toBe("a… (3 more characters)");
  });
});

describe("quote", () => {
  it("escapes control characters and clips", () => {
    expect(quote("a\nb")).toBe('"a\\nb"');
    expect(quote("y".repeat(70))).toBe(`"${"y".repeat(64)}… (6 more characters)"`);
  });
});
