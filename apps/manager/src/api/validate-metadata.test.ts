import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  annotationsMaxBytes,
  keyProblem,
  labelValueProblem,
  validateLabelsAndAnnotations,
} from "./validate-metadata.js";

const at = (field: string) => `resource.vm_class.metadata.${field}`;

function refusal(labels: Record<string, string>, annotations: Record<string, string> = {}) {
  try {
    validateLabelsAndAnnotations(labels, annotations, at);
  } catch (err) {
    if (ProviderError.is(err, ErrorReason.INVALID_SPEC)) return err;
    throw err;
  }
  return undefined;
}

describe("keys, as Kubernetes' qualified names", () => {
  it.each([
    "app",
    "a",
    "A_b.c-D",
    "app.kubernetes.io/name",
    "example.com/My_Name",
    "a-b.c/n",
    "x".repeat(63),
    `${"a".repeat(253)}/x`,
  ])("takes %j", (key) => {
    expect(keyProblem(key)).toBeUndefined();
  });

  it.each([
    ["empty", ""],
    ["an empty prefix", "/x"],
    ["an empty name", "example.com/"],
    ["two slashes", "a/b/c"],
    ["a leading dash", "-a"],
    ["a trailing dot", "a."],
    ["a space", "a b"],
    ["a letter outside ASCII", "ä"],
    ["capitals in the prefix", "Example.com/x"],
    ["an empty DNS label", "a..b/x"],
    ["a DNS label ending in a dash", "a-.b/x"],
    ["a name of 64", "x".repeat(64)],
    ["a prefix of 254", `${"a".repeat(254)}/x`],
  ])("refuses %s", (_what, key) => {
    expect(keyProblem(key)).toBeDefined();
  });
});

describe("label values", () => {
  it.each(["", "a", "web-1", "a.b_c-D9", "x".repeat(63)])("takes %j", (value) => {
    expect(labelValueProblem(value)).toBeUndefined();
  });

  it.each(["a b", "-a", "a-", "_a", "a/b", "ä", "x".repeat(64), "a\nb"])("refuses %j", (value) => {
    expect(labelValueProblem(value)).toBeDefined();
  });
});

describe("validateLabelsAndAnnotations", () => {
  it("names the offending label, and says whether its key or its value is wrong", () => {
    expect(refusal({ env: "prod" })).toBeUndefined();
    const value = refusal({ env: "prod east" });
    expect(value?.field).toBe('resource.vm_class.metadata.labels["env"]');
    expect(value?.message).toContain("the value must be empty or letters");
    const key = refusal({ "bad key": "x" });
    expect(key?.field).toBe('resource.vm_class.metadata.labels["bad key"]');
    expect(key?.message).toContain("the key must be a name");
  });

  it("allows annotations up to 256 KiB in all, keys and values, and no more", () => {
    const value = (bytes: number) => "v".repeat(bytes);
    expect(refusal({}, { a: value(annotationsMaxBytes - 2), b: "" })).toBeUndefined();
    const over = refusal({}, { a: value(annotationsMaxBytes - 2), b: "v" });
    expect(over?.field).toBe("resource.vm_class.metadata.annotations");
    expect(over?.message).toContain("at most 262144 bytes");
    expect(refusal({}, { big: value(300 * 1024) })?.message).toContain(`not ${300 * 1024 + 3}`);
    // Bytes, not characters: "é" is two.
    expect(refusal({}, { a: "é".repeat(annotationsMaxBytes / 2) })).toBeDefined();
  });

  it("takes an annotation key with capitals in its prefix, as Kubernetes does", () => {
    expect(refusal({}, { "Example.com/Note": "x" })).toBeUndefined();
    expect(refusal({ "Example.com/Note": "x" })).toBeDefined();
  });

  it("echoes a huge key shortened", () => {
    const key = "k".repeat(10 * 2 ** 20);
    for (const error of [refusal({ [key]: "x" }), refusal({}, { [key]: "x" })]) {
      expect(error?.field?.length).toBeLessThan(200);
      expect(error?.message.length).toBeLessThan(500);
    }
  });
});
