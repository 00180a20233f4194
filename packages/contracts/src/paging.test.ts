import { describe, expect, it } from "@jest/globals";
import { ErrorReason } from "@virtrigaud/proto";
import { ProviderError } from "./errors/provider-error.js";
import { pageTokenAfter, pageTokenOf } from "./paging.js";

describe("page tokens", () => {
  it("carry the name a page continues after", () => {
    expect(pageTokenAfter(pageTokenOf("web-2"))).toBe("web-2");
    expect(pageTokenAfter(pageTokenOf("odd/name ü"))).toBe("odd/name ü");
    expect(pageTokenAfter("")).toBe("");
  });

  it("refuse a token the provider did not hand out", () => {
    const bad = Buffer.from("before:web-2").toString("base64url");
    expect(() => pageTokenAfter(bad)).toThrow(ProviderError);
    try {
      pageTokenAfter(bad);
    } catch (err) {
      expect(ProviderError.is(err, ErrorReason.INVALID_SPEC)).toBe(true);
      expect((err as ProviderError).field).toBe("page_token");
    }
  });
});
